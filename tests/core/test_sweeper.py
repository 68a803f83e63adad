"""The in-server sweeper: runs due timers, delivers mail, survives failures, starts and stops."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy.orm import Session

from tests.core.test_mail import SENDER, SmtpSink, current_time, queue, stored
from understudy.context import AppContext
from understudy.core import timers
from understudy.core.mail import list_mail, queue_mail
from understudy.core.sweeper import Sweeper

RECORD = "test_sweeper.record"
EXPLODE = "test_sweeper.explode"
BLOCK = "test_sweeper.block"
CALLS: list[str] = []
BLOCK_ENTERED = threading.Event()
BLOCK_RELEASE = threading.Event()


@timers.handler(RECORD)
def _record(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Note the run and queue a mail in the timer's transaction when the payload asks for one."""
    CALLS.append(key)
    if "mail_to" in payload:
        queue_mail(session, to=payload["mail_to"], subject=f"timer {key}", body="ran\n", now=now)


@timers.handler(EXPLODE)
def _explode(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Write something that must be rolled back, then fail."""
    queue_mail(session, to="never@example.com", subject="rolled back", body="-\n", now=now)
    raise RuntimeError(f"boom {key}")


@timers.handler(BLOCK)
def _block(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Signal that it runs, wait for the test's go-ahead, then note the run."""
    BLOCK_ENTERED.set()
    assert BLOCK_RELEASE.wait(30), "the test never released the handler"
    CALLS.append(key)


@pytest.fixture(autouse=True)
def _clear_calls() -> Iterator[None]:
    """Each test sees only its own handler runs."""
    CALLS.clear()
    BLOCK_ENTERED.clear()
    BLOCK_RELEASE.clear()
    yield
    BLOCK_RELEASE.set()
    CALLS.clear()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A running SMTP sink, stopped after the test."""
    with SmtpSink() as running:
        yield running


def schedule(
    ctx: AppContext,
    kind: str,
    key: str,
    *,
    due_in: timedelta,
    payload: dict[str, Any] | None = None,
) -> None:
    """Schedule a timer relative to the service clock's now."""
    with ctx.db.write() as session:
        timers.schedule(
            session, kind=kind, key=key, due_at=ctx.now(session) + due_in, payload=payload
        )


def pending(ctx: AppContext, kind: str, key: str) -> timers.Timer | None:
    """The pending timer row, or None once it has run."""
    with ctx.db.read() as session:
        return timers.pending(session, kind=kind, key=key)


def sweeper_tasks() -> list[asyncio.Task[Any]]:
    """Live tasks running a sweeper loop on this event loop."""
    return [t for t in asyncio.all_tasks() if t.get_name() == "sweeper" and not t.done()]


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait for condition(); the deadline only turns a hang into a failure, it measures nothing."""
    with anyio.fail_after(30):
        while not condition():
            await anyio.sleep(0.01)


async def test_sweep_once_runs_due_timers_and_delivers_mail(
    ctx: AppContext, sink: SmtpSink
) -> None:
    schedule(ctx, RECORD, "due", due_in=-timedelta(minutes=1), payload={"mail_to": "t@example.com"})
    schedule(ctx, RECORD, "later", due_in=timedelta(hours=1))
    queued = queue(ctx, to="q@example.com", subject="queued before")
    sweeper = Sweeper(ctx.db, ctx.clock, interval=60, batch=10, smtp=sink.target, sender=SENDER)

    ran = await sweeper.sweep_once()

    assert ran == 1
    assert CALLS == ["due"]
    assert pending(ctx, RECORD, "due") is None
    assert pending(ctx, RECORD, "later") is not None
    assert sorted(sink.subjects()) == ["queued before", "timer due"]
    assert [e.mail_from for e in sink.envelopes] == ["no-reply@understudy.localhost"] * 2
    assert stored(ctx, queued).delivered_at is not None

    assert await sweeper.sweep_once() == 0
    assert CALLS == ["due"]
    assert len(sink.envelopes) == 2


async def test_sweep_once_delivers_at_most_a_batch_of_mail(ctx: AppContext, sink: SmtpSink) -> None:
    for n in range(3):
        queue(ctx, to=f"user{n}@example.com", subject=f"message {n}")
    sweeper = Sweeper(ctx.db, ctx.clock, interval=60, batch=2, smtp=sink.target, sender=SENDER)

    await sweeper.sweep_once()
    assert sink.subjects() == ["message 0", "message 1"]

    await sweeper.sweep_once()
    assert sink.subjects() == ["message 0", "message 1", "message 2"]


async def test_without_smtp_mail_stays_in_the_outbox(ctx: AppContext) -> None:
    schedule(ctx, RECORD, "due", due_in=-timedelta(seconds=1), payload={"mail_to": "t@example.com"})
    sweeper = Sweeper(ctx.db, ctx.clock, interval=60, batch=10)

    assert await sweeper.sweep_once() == 1

    with ctx.db.read() as session:
        [message] = list_mail(session, to="t@example.com")
    assert message.subject == "timer due"
    assert message.delivered_at is None
    assert message.attempts == 0


async def test_failing_timer_is_postponed_and_others_still_run(ctx: AppContext) -> None:
    schedule(ctx, EXPLODE, "bad", due_in=-timedelta(minutes=2))
    schedule(ctx, RECORD, "good", due_in=-timedelta(minutes=1))
    before = current_time(ctx)
    sweeper = Sweeper(ctx.db, ctx.clock, interval=60, batch=10)

    await sweeper.sweep_once()

    assert CALLS == ["good"]
    assert pending(ctx, RECORD, "good") is None
    failed = pending(ctx, EXPLODE, "bad")
    assert failed is not None
    assert failed.attempts == 1
    assert failed.last_error == "RuntimeError: boom bad"
    assert failed.due_at > before
    with ctx.db.read() as session:
        assert list_mail(session, to="never@example.com") == []

    # Postponed, not due again yet: a second round leaves it alone.
    await sweeper.sweep_once()
    again = pending(ctx, EXPLODE, "bad")
    assert again is not None
    assert again.attempts == 1


async def test_start_and_stop_inside_a_running_loop(ctx: AppContext, sink: SmtpSink) -> None:
    schedule(ctx, RECORD, "first", due_in=-timedelta(seconds=1))
    queue(ctx, to="q@example.com", subject="from the loop")
    sweeper = Sweeper(ctx.db, ctx.clock, interval=0.01, batch=10, smtp=sink.target, sender=SENDER)

    await sweeper.stop()  # stopping a sweeper that never started is a no-op
    sweeper.start()
    sweeper.start()  # already running: still one loop
    assert len(sweeper_tasks()) == 1
    try:
        await eventually(lambda: CALLS == ["first"] and sink.subjects() == ["from the loop"])
    finally:
        await sweeper.stop()
    assert sweeper_tasks() == []
    await sweeper.stop()  # idempotent
    assert pending(ctx, RECORD, "first") is None

    # A stopped sweeper can be started again.
    schedule(ctx, RECORD, "second", due_in=-timedelta(seconds=1))
    sweeper.start()
    try:
        await eventually(lambda: CALLS == ["first", "second"])
    finally:
        await sweeper.stop()
    assert sweeper_tasks() == []


class CancelLosingSweeper(Sweeper):
    """A sweeper whose round loses a cancellation, as asyncio.wait_for can on Python 3.11."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_round = asyncio.Event()
        self.lost = 0

    async def sweep_once(self) -> int:
        """Run a real round, then wait in a way that swallows CancelledError."""
        ran = await super().sweep_once()
        self.in_round.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.lost += 1  # the cancellation request is dropped on the floor
        return ran


async def test_stop_ends_the_loop_even_when_a_cancellation_is_lost(ctx: AppContext) -> None:
    schedule(ctx, RECORD, "once", due_in=-timedelta(seconds=1))
    sweeper = CancelLosingSweeper(ctx.db, ctx.clock, interval=0.01, batch=10)

    sweeper.start()
    with anyio.fail_after(30):
        await sweeper.in_round.wait()
        await sweeper.stop()

    assert sweeper.lost == 1
    assert sweeper_tasks() == []
    assert CALLS == ["once"]


async def test_stop_waits_for_work_running_in_a_thread(ctx: AppContext) -> None:
    schedule(ctx, BLOCK, "in-flight", due_in=-timedelta(seconds=1))
    sweeper = Sweeper(ctx.db, ctx.clock, interval=0.01, batch=10)
    sweeper.start()
    try:
        assert await anyio.to_thread.run_sync(BLOCK_ENTERED.wait, 30), "the timer never ran"
        stopping = asyncio.create_task(sweeper.stop())
        await asyncio.sleep(0)  # stop() has begun while the handler is still running
        BLOCK_RELEASE.set()
        await stopping
        CALLS.append("stop returned")
    finally:
        BLOCK_RELEASE.set()
        await sweeper.stop()

    assert CALLS == ["in-flight", "stop returned"]
    assert pending(ctx, BLOCK, "in-flight") is None


async def test_failing_handler_does_not_kill_the_loop(ctx: AppContext) -> None:
    schedule(ctx, EXPLODE, "bad", due_in=-timedelta(minutes=2))
    schedule(ctx, RECORD, "before", due_in=-timedelta(minutes=1))
    sweeper = Sweeper(ctx.db, ctx.clock, interval=0.01, batch=10)

    sweeper.start()
    try:
        await eventually(lambda: "before" in CALLS)
        failed = pending(ctx, EXPLODE, "bad")
        assert failed is not None
        assert failed.attempts >= 1
        assert failed.last_error == "RuntimeError: boom bad"

        # The loop is still alive after the failure and picks up new work.
        schedule(ctx, RECORD, "after", due_in=-timedelta(seconds=1))
        await eventually(lambda: "after" in CALLS)
        assert len(sweeper_tasks()) == 1
    finally:
        await sweeper.stop()
    assert CALLS.count("before") == 1
    assert CALLS.count("after") == 1
