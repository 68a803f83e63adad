"""Request limits (§9): per IP 503 before auth, per key 429, the ban, and the off switch."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from tests.fivesim.helpers import assert_error, bearer, new_user
from understudy.fivesim.settings import get_settings

IP_LIMIT = "ip address limit is 100 requests per second"
KEY_LIMIT = "api limit is 100 requests per second"


@pytest.fixture
def limit_of_two(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_RATE_LIMIT", "2")
    # An hour-long window: a slow machine cannot spread the requests over two windows.
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_RATE_LIMIT_PERIOD", "hour")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _from(app: FastAPI, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_per_ip_limit_answers_503_even_without_a_token(
    app: FastAPI, limit_of_two: None
) -> None:
    async with _from(app, "10.0.0.1") as client:
        answers = [await client.get("/v1/guest/countries") for _ in range(3)]
        assert [a.status_code for a in answers[:2]] == [200, 200]
        assert_error(answers[2], IP_LIMIT, 503)
        assert_error(await client.get("/v1/user/profile"), IP_LIMIT, 503)
    async with _from(app, "10.0.0.2") as other:
        assert (await other.get("/v1/guest/countries")).status_code == 200


async def test_per_key_limit_answers_429_across_ips(
    client: httpx.AsyncClient, app: FastAPI, limit_of_two: None
) -> None:
    _, token = await new_user(client)
    for ip in ("10.0.1.1", "10.0.1.2"):
        async with _from(app, ip) as c:
            assert (await c.get("/v1/user/profile", headers=bearer(token))).status_code == 200
    async with _from(app, "10.0.1.3") as c:
        assert_error(await c.get("/v1/user/profile", headers=bearer(token)), KEY_LIMIT, 429)


async def test_five_strikes_ban_the_ip(app: FastAPI, limit_of_two: None) -> None:
    async with _from(app, "10.0.2.1") as client:
        statuses = [(await client.get("/v1/guest/flash/en")).status_code for _ in range(7)]
    assert statuses == [200, 200, 503, 503, 503, 503, 503]
    ctx = app.state.ctx
    assert not ctx.limiter.test("1/10 minutes", "fivesim-ban", "ip", "10.0.2.1")


async def test_zero_turns_limits_off(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_RATE_LIMIT", "0")
    get_settings.cache_clear()
    try:
        async with _from(app, "10.0.3.1") as client:
            statuses = {(await client.get("/v1/guest/flash/en")).status_code for _ in range(150)}
        assert statuses == {200}
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
