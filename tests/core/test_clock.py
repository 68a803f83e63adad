"""The clock: real time outside the sandbox, one shared offset inside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from understudy.config import Settings
from understudy.context import AppContext
from understudy.core.clock import Clock, rfc3339


def test_offset_is_shared_by_every_process_through_the_database(
    ctx: AppContext, settings: Settings
) -> None:
    other = AppContext.from_settings(settings)  # another worker: own engines, same database
    try:
        with ctx.db.write() as s:
            moved = ctx.clock.advance(s, 7200)
        with other.db.read() as s:
            seen = other.now(s)
        assert timedelta(0) <= seen - moved < timedelta(seconds=5)
        assert seen - datetime.now(UTC) > timedelta(hours=1, minutes=59)
    finally:
        other.close()


def test_offset_is_read_once_per_transaction(ctx: AppContext) -> None:
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "clock_state" in statement:
            statements.append(statement)

    event.listen(ctx.db.read_engine, "before_cursor_execute", count)
    try:
        with ctx.db.read() as s:
            first, second = ctx.now(s), ctx.now(s)
        assert second >= first
        assert len(statements) == 1
    finally:
        event.remove(ctx.db.read_engine, "before_cursor_execute", count)


def test_without_sandbox_the_clock_is_real_and_cannot_move(ctx: AppContext) -> None:
    real = Clock(sandbox=False)
    with ctx.db.write() as s:
        ctx.clock.advance(s, 86400)  # a sandbox offset exists in the database...
    with ctx.db.read() as s:
        assert real.now(s) - datetime.now(UTC) < timedelta(seconds=5)  # ...and is ignored
        with pytest.raises(RuntimeError):
            real.advance(s, 1)


def test_advance_refuses_going_back(ctx: AppContext) -> None:
    with ctx.db.write() as s, pytest.raises(ValueError):
        ctx.clock.advance(s, -1)


def test_rfc3339_is_utc_with_microseconds() -> None:
    moment = datetime(2018, 10, 13, 8, 13, 38, 809469, tzinfo=UTC)
    assert rfc3339(moment) == "2018-10-13T08:13:38.809469Z"
    assert rfc3339(moment.astimezone()) == "2018-10-13T08:13:38.809469Z"
