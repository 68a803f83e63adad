"""Due work (expiries, schedules) as rows with a due time, run exactly once.

A service registers a handler per timer kind and schedules rows in its own transactions. A row
is run by claiming it in a write transaction (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite's
single writer), calling the handler in that same transaction and deleting the row: the
handler's effects and the row's removal commit together, so each timer runs at most once, and
until it has run it stays due. A failing handler rolls back; the row is retried with backoff.

Timers also run lazily: `run_if_due` applies one timer inside a caller's transaction when a
service reads or writes the row it belongs to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from understudy.core.db import Base, Database, UTCDateTime

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=5)


class Timer(Base):
    """One piece of due work: a kind, a key unique within the kind, a due time, a payload."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Handler(Protocol):
    """Runs one due timer inside the claiming transaction."""

    def __call__(
        self, session: Session, *, key: str, payload: dict[str, Any], now: datetime
    ) -> None: ...


_handlers: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Decorator registering the handler of a timer kind."""

    def register(fn: Handler) -> Handler:
        existing = _handlers.get(kind)
        if existing is not None and existing is not fn:
            raise ValueError(f"timer kind {kind!r} already has a handler")
        _handlers[kind] = fn
        return fn

    return register


def schedule(
    session: Session,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
) -> None:
    """Create the (kind, key) timer, or move an existing one to the new due time and payload."""
    if kind not in _handlers:
        raise ValueError(f"no handler registered for timer kind {kind!r}")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"due_at": due_at, "payload": payload or {}, "attempts": 0, "last_error": None}
    stmt = insert(Timer).values(kind=kind, key=key, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["kind", "key"], set_=values))


def cancel(session: Session, *, kind: str, key: str) -> bool:
    """Remove a pending timer; returns whether there was one."""
    result = session.execute(delete(Timer).where(Timer.kind == kind, Timer.key == key))
    return bool(result.rowcount)


def pending(session: Session, *, kind: str, key: str) -> Timer | None:
    """The pending timer (kind, key), or None."""
    return session.scalar(select(Timer).where(Timer.kind == kind, Timer.key == key))


def _run(session: Session, timer: Timer, now: datetime) -> None:
    fn = _handlers.get(timer.kind)
    if fn is None:
        raise LookupError(f"no handler registered for timer kind {timer.kind!r}")
    key, payload = timer.key, dict(timer.payload or {})
    session.execute(delete(Timer).where(Timer.id == timer.id))
    fn(session, key=key, payload=payload, now=now)


def run_if_due(session: Session, *, kind: str, key: str, now: datetime) -> bool:
    """Run the (kind, key) timer now, in the caller's transaction, if it is due."""
    stmt = select(Timer).where(Timer.kind == kind, Timer.key == key, Timer.due_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    timer = session.scalar(stmt)
    if timer is None:
        return False
    _run(session, timer, now)
    return True


def run_due(
    db: Database,
    now: Callable[[Session], datetime],
    *,
    limit: int = 100,
    kinds: tuple[str, ...] | None = None,
) -> int:
    """Run up to `limit` due timers, one transaction each; returns how many ran.

    Safe to call from several workers at once. `now` gives the current time within a
    transaction (the sandbox clock).
    """
    with db.read() as session:  # idle sweeps must not take SQLite's write lock
        due = select(Timer.id).where(Timer.due_at <= now(session))
        if kinds is not None:
            due = due.where(Timer.kind.in_(kinds))
        if session.scalar(due.limit(1)) is None:
            return 0
    ran = 0
    failed: list[int] = []  # retried by a later sweep, never again within this one
    while ran < limit:
        with db.write() as session:
            moment = now(session)
            stmt = select(Timer).where(Timer.due_at <= moment).order_by(Timer.due_at, Timer.id)
            if kinds is not None:
                stmt = stmt.where(Timer.kind.in_(kinds))
            if failed:
                stmt = stmt.where(Timer.id.not_in(failed))
            if db.is_postgres:
                stmt = stmt.with_for_update(skip_locked=True)
            timer = session.scalar(stmt.limit(1))
            if timer is None:
                return ran
            timer_id, kind, key = timer.id, timer.kind, timer.key
            try:
                with session.begin_nested():
                    _run(session, timer, moment)
            except Exception as exc:
                log.exception("timer %s %s failed", kind, key)
                _postpone(session, timer_id, moment, exc)
                failed.append(timer_id)
        ran += 1
    return ran


def drain_due(
    db: Database,
    now: Callable[[Session], datetime],
    *,
    timeout: float = 30.0,
    poll: float = 0.01,
) -> int:
    """Run due timers until none is due, including those another worker is running right now.

    `run_due` skips timers locked by other workers; this waits for them to commit (or fail and
    be postponed), so the caller may rely on every timer due at this moment having been applied.
    Raises TimeoutError if due timers remain after `timeout` seconds.
    """
    ran = 0
    deadline = time.monotonic() + timeout
    while True:
        ran += run_due(db, now, limit=10_000)
        with db.read() as session:
            still_due = session.scalar(
                select(func.count()).select_from(Timer).where(Timer.due_at <= now(session))
            )
        if not still_due:
            return ran
        if time.monotonic() > deadline:
            raise TimeoutError(f"{still_due} due timer(s) still pending after {timeout}s")
        time.sleep(poll)


def _postpone(session: Session, timer_id: int, now: datetime, exc: Exception) -> None:
    timer = session.get(Timer, timer_id, populate_existing=True)
    if timer is None:
        return
    timer.attempts += 1
    timer.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    timer.due_at = now + min(timedelta(seconds=2**timer.attempts), MAX_BACKOFF)
