"""Timers: scheduling, lazy and swept runs, failure backoff, exactly-once across workers."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import ADMIN
from understudy.context import AppContext
from understudy.core import ledger, timers
from understudy.core.clock import Clock
from understudy.core.db import Database

KIND = "test.pay"
FAILING = "test.failing"


@timers.handler(KIND)
def _pay(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Move one cent from world to the payee, labelled with the timer key."""
    world = ledger.open_account(
        session, key="t:world", currency="EUR", now=now, allow_negative=True
    )
    payee = ledger.open_account(session, key="t:payee", currency="EUR", now=now)
    ledger.transfer(
        session, source=world.id, dest=payee.id, amount=payload.get("cents", 1), label=key, now=now
    )


@timers.handler(FAILING)
def _fail(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Always fails after writing something that must be rolled back."""
    ledger.open_account(session, key=f"t:partial:{key}", currency="EUR", now=now)
    raise RuntimeError("handler exploded")


def _labels(ctx: AppContext) -> dict[str, int]:
    with ctx.db.read() as s:
        rows = s.execute(
            select(ledger.Posting.label, func.count()).group_by(ledger.Posting.label)
        ).all()
    return {label: count for label, count in rows}


def _timer_count(ctx: AppContext) -> int:
    """Pending timers of this module's kinds (services seed timers of their own)."""
    with ctx.db.read() as s:
        mine = timers.Timer.kind.like("test.%")
        return s.scalar(select(func.count()).select_from(timers.Timer).where(mine)) or 0


def test_schedule_upserts_and_cancel(ctx: AppContext) -> None:
    with ctx.db.write() as s:
        now = ctx.now(s)
        timers.schedule(s, kind=KIND, key="a", due_at=now + timedelta(hours=1))
        timers.schedule(
            s, kind=KIND, key="a", due_at=now + timedelta(hours=2), payload={"cents": 5}
        )
        pending = timers.pending(s, kind=KIND, key="a")
        assert pending is not None
        assert pending.due_at - now >= timedelta(hours=2) - timedelta(seconds=1)
        assert pending.payload == {"cents": 5}
        assert timers.cancel(s, kind=KIND, key="a") is True
        assert timers.cancel(s, kind=KIND, key="a") is False
    assert _timer_count(ctx) == 0


def test_schedule_unknown_kind_is_refused(ctx: AppContext) -> None:
    with ctx.db.write() as s, pytest.raises(ValueError, match="no handler"):
        timers.schedule(s, kind="test.nobody", key="x", due_at=ctx.now(s))


def test_run_due_runs_only_due_timers_once(ctx: AppContext) -> None:
    with ctx.db.write() as s:
        now = ctx.now(s)
        timers.schedule(s, kind=KIND, key="past", due_at=now - timedelta(seconds=1))
        timers.schedule(s, kind=KIND, key="future", due_at=now + timedelta(hours=1))
    assert timers.run_due(ctx.db, ctx.clock.now) == 1
    assert timers.run_due(ctx.db, ctx.clock.now) == 0
    assert _labels(ctx) == {"past": 1}
    assert _timer_count(ctx) == 1


def test_run_if_due_applies_lazily_in_callers_transaction(ctx: AppContext) -> None:
    with ctx.db.write() as s:
        now = ctx.now(s)
        timers.schedule(s, kind=KIND, key="lazy", due_at=now + timedelta(minutes=5))
    with ctx.db.write() as s:
        assert timers.run_if_due(s, kind=KIND, key="lazy", now=ctx.now(s)) is False
        later = ctx.now(s) + timedelta(minutes=6)
        assert timers.run_if_due(s, kind=KIND, key="lazy", now=later) is True
        assert timers.run_if_due(s, kind=KIND, key="lazy", now=later) is False
    assert _labels(ctx) == {"lazy": 1}


def test_failing_handler_rolls_back_and_is_postponed(ctx: AppContext) -> None:
    with ctx.db.write() as s:
        now = ctx.now(s)
        timers.schedule(s, kind=FAILING, key="boom", due_at=now - timedelta(seconds=1))
        timers.schedule(s, kind=KIND, key="fine", due_at=now - timedelta(seconds=1))
    assert timers.run_due(ctx.db, ctx.clock.now) == 2
    with ctx.db.read() as s:
        failed = timers.pending(s, kind=FAILING, key="boom")
        assert failed is not None
        assert failed.attempts == 1
        assert failed.last_error == "RuntimeError: handler exploded"
        assert failed.due_at > ctx.now(s)
        assert ledger.get_account(s, "t:partial:boom") is None
    assert _labels(ctx) == {"fine": 1}


def test_a_failing_timer_is_tried_once_per_sweep_even_when_due_again(ctx: AppContext) -> None:
    with ctx.db.write() as s:
        start = ctx.now(s)
        timers.schedule(s, kind=FAILING, key="boom", due_at=start - timedelta(seconds=1))
        timers.schedule(s, kind=KIND, key="fine", due_at=start - timedelta(seconds=1))
    readings = iter(start + timedelta(hours=i) for i in range(100))

    def slow_sweep_clock(session: Session) -> datetime:  # each reading an hour later
        return next(readings)

    assert timers.run_due(ctx.db, slow_sweep_clock) == 2
    with ctx.db.read() as s:
        failed = timers.pending(s, kind=FAILING, key="boom")
        assert failed is not None and failed.attempts == 1
    assert _labels(ctx) == {"fine": 1}


async def test_clock_advance_runs_due_timers(client: httpx.AsyncClient, ctx: AppContext) -> None:
    with ctx.db.write() as s:
        now = ctx.now(s)
        timers.schedule(s, kind=KIND, key="in-an-hour", due_at=now + timedelta(hours=1))
        timers.schedule(s, kind=KIND, key="tomorrow", due_at=now + timedelta(days=1))
    r = await client.post("/_understudy/clock", json={"advance": 3601}, headers=ADMIN)
    assert r.status_code == 200
    assert _labels(ctx) == {"in-an-hour": 1}
    await client.post("/_understudy/clock", json={"advance": 86400}, headers=ADMIN)
    assert _labels(ctx) == {"in-an-hour": 1, "tomorrow": 1}
    assert _timer_count(ctx) == 0


def _sweep_worker(url: str, results: Any) -> None:
    """Child process: sweep until nothing is due; report how many timers it ran."""
    db = Database(url)
    clock = Clock(sandbox=True)
    total = 0
    try:
        while True:
            ran = timers.run_due(db, clock.now, limit=25)
            total += ran
            if ran == 0:
                break
        results.put(("ok", total))
    except Exception as exc:  # report instead of dying silently
        results.put(("error", repr(exc)))
    finally:
        db.dispose()


@pytest.mark.slow
def test_two_worker_processes_run_each_timer_exactly_once(
    ctx: AppContext, database_url: str
) -> None:
    count = 300
    with ctx.db.write() as s:
        now = ctx.now(s)
        for i in range(count):
            timers.schedule(s, kind=KIND, key=f"due-{i:04d}", due_at=now - timedelta(seconds=i))
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    workers = [spawn.Process(target=_sweep_worker, args=(database_url, results)) for _ in range(2)]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(n for _, n in outcomes) == count
    labels = _labels(ctx)
    assert len(labels) == count
    assert set(labels.values()) == {1}
    assert _timer_count(ctx) == 0
    with ctx.db.read() as s:
        payee = ledger.get_account(s, "t:payee")
        assert payee is not None and payee.balance == count
        assert ledger.verify(s) == []


SLOW = "test.slow"
_slow_started = threading.Event()


@timers.handler(SLOW)
def _slow_pay(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Signal that the timer is claimed, linger while holding it, then pay."""
    _slow_started.set()
    time.sleep(0.5)
    _pay(session, key=key, payload=payload, now=now)


def test_drain_waits_for_timers_claimed_by_another_worker(ctx: AppContext) -> None:
    _slow_started.clear()
    with ctx.db.write() as s:
        timers.schedule(s, kind=SLOW, key="slow", due_at=ctx.now(s) - timedelta(seconds=1))
    other = threading.Thread(target=lambda: timers.run_due(ctx.db, ctx.clock.now, limit=1))
    other.start()
    assert _slow_started.wait(timeout=10)
    timers.drain_due(ctx.db, ctx.clock.now, timeout=30)
    assert _labels(ctx) == {"slow": 1}  # applied (by the other worker) before drain returned
    other.join(timeout=10)
    assert _timer_count(ctx) == 0
