"""Rate limits on `limits`: per-process memory counters, and Redis counters shared by workers."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest
import redis

from understudy.core.ratelimit import RateLimiter

# A day-long window: the sliding-window counter rounds down the previous window's weight, so a
# window boundary falling inside a test could let one extra hit through; a day makes that moot.
LIMIT = "5/day"
ALLOWED = 5
REDIS_URL = os.environ.get("UNDERSTUDY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def hits(limiter: RateLimiter, count: int, *identifiers: str) -> list[bool]:
    """The outcome of `count` consecutive hits."""
    return [limiter.hit(LIMIT, *identifiers) for _ in range(count)]


# --- memory ---------------------------------------------------------------------------------


def test_memory_allows_the_limit_then_refuses() -> None:
    limiter = RateLimiter()
    assert hits(limiter, ALLOWED, "login", "198.51.100.7") == [True] * ALLOWED
    assert hits(limiter, 2, "login", "198.51.100.7") == [False, False]


def test_memory_identifiers_and_limits_count_separately() -> None:
    limiter = RateLimiter()
    assert all(hits(limiter, ALLOWED, "login", "198.51.100.7"))
    assert not limiter.hit(LIMIT, "login", "198.51.100.7")

    assert limiter.hit(LIMIT, "login", "198.51.100.8")
    assert limiter.hit(LIMIT, "signup", "198.51.100.7")
    assert limiter.hit("6/day", "login", "198.51.100.7")


def test_memory_test_does_not_count() -> None:
    limiter = RateLimiter()
    assert all(limiter.test(LIMIT, "sms", "u1") for _ in range(3 * ALLOWED))
    assert all(hits(limiter, ALLOWED - 1, "sms", "u1"))
    assert limiter.test(LIMIT, "sms", "u1")
    assert limiter.hit(LIMIT, "sms", "u1")
    assert not limiter.test(LIMIT, "sms", "u1")
    assert not limiter.hit(LIMIT, "sms", "u1")


def test_memory_clear_forgets_one_counter() -> None:
    limiter = RateLimiter()
    assert all(hits(limiter, ALLOWED, "login", "a"))
    assert all(hits(limiter, ALLOWED, "login", "b"))

    limiter.clear(LIMIT, "login", "a")

    assert hits(limiter, ALLOWED, "login", "a") == [True] * ALLOWED
    assert not limiter.hit(LIMIT, "login", "a")
    assert not limiter.hit(LIMIT, "login", "b")


def test_memory_reset_forgets_every_counter() -> None:
    limiter = RateLimiter()
    assert all(hits(limiter, ALLOWED, "login", "a"))
    assert all(hits(limiter, ALLOWED, "signup", "b"))

    limiter.reset()

    assert limiter.hit(LIMIT, "login", "a")
    assert limiter.hit(LIMIT, "signup", "b")


def test_memory_counters_are_per_process() -> None:
    first, second = RateLimiter(), RateLimiter()
    assert not first.shared
    assert not second.shared
    assert first.check()
    assert all(hits(first, ALLOWED, "login", "a"))
    assert not first.hit(LIMIT, "login", "a")
    assert second.hit(LIMIT, "login", "a")


# --- Redis ----------------------------------------------------------------------------------


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """A raw client on the test Redis; skips the test when no Redis answers."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test (or earlier run) uses."""
    return f"understudy-test-{secrets.token_hex(6)}"


@pytest.fixture
def redis_limiter(redis_client: redis.Redis, prefix: str) -> Iterator[Callable[..., RateLimiter]]:
    """Makes Redis-backed limiters (one per simulated worker); wipes their keys afterwards."""
    made: list[RateLimiter] = []

    def make(key_prefix: str = prefix) -> RateLimiter:
        """A new limiter on the test Redis under key_prefix."""
        limiter = RateLimiter(REDIS_URL, prefix=key_prefix)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.reset()


def test_redis_limiter_is_shared_and_healthy(redis_limiter: Callable[..., RateLimiter]) -> None:
    limiter = redis_limiter()
    assert limiter.shared
    assert limiter.check()


def test_redis_workers_share_counts(redis_limiter: Callable[..., RateLimiter]) -> None:
    worker_a, worker_b = redis_limiter(), redis_limiter()

    assert hits(worker_a, 3, "login", "198.51.100.7") == [True] * 3
    assert worker_b.test(LIMIT, "login", "198.51.100.7")
    assert hits(worker_b, 2, "login", "198.51.100.7") == [True] * 2

    assert not worker_a.test(LIMIT, "login", "198.51.100.7")
    assert not worker_a.hit(LIMIT, "login", "198.51.100.7")
    assert not worker_b.hit(LIMIT, "login", "198.51.100.7")
    assert worker_b.hit(LIMIT, "login", "198.51.100.8")


def test_redis_clear_is_seen_by_every_worker(redis_limiter: Callable[..., RateLimiter]) -> None:
    worker_a, worker_b = redis_limiter(), redis_limiter()
    assert all(hits(worker_a, ALLOWED, "sms", "u1"))
    assert not worker_b.hit(LIMIT, "sms", "u1")

    worker_b.clear(LIMIT, "sms", "u1")

    assert worker_a.hit(LIMIT, "sms", "u1")


def test_redis_reset_clears_only_our_prefix(
    redis_limiter: Callable[..., RateLimiter], redis_client: redis.Redis, prefix: str
) -> None:
    ours = redis_limiter()
    neighbour = redis_limiter(f"{prefix}x")  # shares our prefix as a string, not as a namespace
    outside_key = f"{prefix}-outside:keep"
    redis_client.set(outside_key, "1", ex=600)
    try:
        assert all(hits(ours, ALLOWED, "login", "a"))
        assert all(hits(neighbour, ALLOWED, "login", "a"))
        assert not ours.hit(LIMIT, "login", "a")
        assert not neighbour.hit(LIMIT, "login", "a")
        assert redis_client.keys(f"{prefix}:*")

        ours.reset()

        assert redis_client.keys(f"{prefix}:*") == []
        assert ours.hit(LIMIT, "login", "a")
        assert not neighbour.hit(LIMIT, "login", "a")
        assert redis_client.get(outside_key) == b"1"
    finally:
        redis_client.delete(outside_key)
