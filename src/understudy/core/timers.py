"""Due work (expiries, schedules) as rows with a due time, run exactly once.

A service registers a handler per timer kind and schedules rows in its own transactions. A row
is run by claiming it in a write transaction (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite's
single writer), calling the handler in that same transaction and deleting the row: the
handler's effects and the row's removal commit together, so each timer runs at most once, and
until it has run it stays due. A failing handler rolls back; the row is retried with backoff.
On SQLite (one writer anyway) a sweep runs due timers in batches, one transaction per batch; if a
handler fails, the batch rolls back and its timers run one per transaction instead.

Timers also run lazily: `run_if_due` applies one timer inside a caller's transaction when a
service reads or writes the row it belongs to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from understudy.core.db import Base, Database, UTCDateTime

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=5)
BATCH = 50  # timers per transaction on SQLite (it holds the writer meanwhile)


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


_timers = Timer.__table__


def schedule(
    session: Session,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
) -> None:
    """Create the (kind, key) timer, or move an existing one to the new due time and payload."""
    schedule_all(session, [(kind, key, due_at, payload)])


def schedule_all(
    session: Session, timers: list[tuple[str, str, datetime, dict[str, Any] | None]]
) -> None:
    """`schedule` for several (kind, key, due_at, payload) timers in one statement."""
    for kind, *_ in timers:
        if kind not in _handlers:
            raise ValueError(f"no handler registered for timer kind {kind!r}")
    if not timers:
        return
    rows = [
        {"kind": kind, "key": key, "due_at": due_at, "payload": payload or {}}
        for kind, key, due_at, payload in timers
    ]
    postgresql = session.get_bind().dialect.name == "postgresql"
    session.connection().execute(_UPSERT[postgresql], rows)


def _upsert(insert: Any) -> Any:
    stmt = insert(_timers).values(attempts=0, last_error=None)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={"due_at": new.due_at, "payload": new.payload, "attempts": 0, "last_error": None},
    )


_UPSERT = {False: _upsert(sqlite_insert), True: _upsert(pg_insert)}
_CANCEL = delete(_timers).where(
    _timers.c.kind.in_(bindparam("kinds", expanding=True)), _timers.c.key == bindparam("b_key")
)
_CLAIM_ONE = (
    delete(_timers)
    .where(
        _timers.c.kind == bindparam("b_kind"),
        _timers.c.key == bindparam("b_key"),
        _timers.c.due_at <= bindparam("now", type_=_timers.c.due_at.type),
    )
    .returning(_timers.c.payload)
)
_CLAIM_ID = delete(_timers).where(
    _timers.c.id == bindparam("b_id"),
    _timers.c.due_at <= bindparam("now", type_=_timers.c.due_at.type),
)


def cancel(session: Session, *, kind: str, key: str) -> bool:
    """Remove a pending timer; returns whether there was one."""
    return cancel_all(session, kinds=(kind,), key=key) > 0


def cancel_all(session: Session, *, kinds: tuple[str, ...], key: str) -> int:
    """Remove the pending timers of these kinds with this key; returns how many there were."""
    result = session.connection().execute(_CANCEL, {"kinds": list(kinds), "b_key": key})
    return int(result.rowcount)


def pending(session: Session, *, kind: str, key: str) -> Timer | None:
    """The pending timer (kind, key), or None."""
    return session.scalar(select(Timer).where(Timer.kind == kind, Timer.key == key))


def _handler_of(kind: str) -> Handler:
    fn = _handlers.get(kind)
    if fn is None:
        raise LookupError(f"no handler registered for timer kind {kind!r}")
    return fn


def _run(session: Session, timer: Any, now: datetime) -> None:
    fn = _handler_of(timer.kind)
    session.execute(delete(_timers).where(_timers.c.id == timer.id))
    fn(session, key=timer.key, payload=dict(timer.payload or {}), now=now)


def run_if_due(session: Session, *, kind: str, key: str, now: datetime) -> bool:
    """Run the (kind, key) timer now, in the caller's transaction, if it is due."""
    # Deleting claims it: a concurrent caller waits for this transaction, then finds no row.
    claimed = (
        session.connection().execute(_CLAIM_ONE, {"b_kind": kind, "b_key": key, "now": now}).first()
    )
    if claimed is None:
        return False
    _handler_of(kind)(session, key=key, payload=dict(claimed.payload or {}), now=now)
    return True


def _due(moment: datetime, kinds: tuple[str, ...] | None, failed: list[int]):  # type: ignore[no-untyped-def]
    stmt = (
        select(_timers.c.id, _timers.c.kind, _timers.c.key, _timers.c.payload)
        .where(_timers.c.due_at <= moment)
        .order_by(_timers.c.due_at, _timers.c.id)
    )
    if kinds is not None:
        stmt = stmt.where(_timers.c.kind.in_(kinds))
    if failed:
        stmt = stmt.where(_timers.c.id.not_in(failed))
    return stmt


class _BatchFailed(Exception):
    """A handler of a batch failed: nothing of the batch was committed."""


def _run_batch(
    db: Database,
    now: Callable[[Session], datetime],
    until: datetime,
    limit: int,
    kinds: tuple[str, ...] | None,
) -> int:
    """SQLite: run up to `limit` timers due by `until` in one transaction (one writer anyway).

    Returns how many ran. If a handler fails, nothing of the batch is committed and
    _BatchFailed tells the caller to run the timers one per transaction instead.
    """
    try:
        with db.write() as session:
            moment = now(session)
            due_by = min(moment, until)
            ran = 0
            for timer in session.execute(_due(due_by, kinds, []).limit(limit)).all():
                # An earlier handler of the batch may have cancelled or moved this one.
                claimed = (
                    session.connection()
                    .execute(_CLAIM_ID, {"b_id": timer.id, "now": due_by})
                    .rowcount
                )
                if claimed == 1:
                    fn = _handler_of(timer.kind)
                    fn(session, key=timer.key, payload=dict(timer.payload or {}), now=moment)
                    ran += 1
            return ran
    except Exception as exc:
        log.debug("timer batch failed; running its timers one by one", exc_info=True)
        raise _BatchFailed from exc


def run_due(
    db: Database,
    now: Callable[[Session], datetime],
    *,
    limit: int = 100,
    kinds: tuple[str, ...] | None = None,
) -> int:
    """Run up to `limit` of the timers due when it starts, each exactly once; returns how many.

    Safe to call from several workers at once. `now` gives the current time within a
    transaction (the sandbox clock). PostgreSQL runs one timer per transaction (its row locks
    stay short); SQLite runs batches in one transaction, falling back to one per transaction
    when a handler fails. Timers falling due meanwhile are left to the next sweep.
    """
    with db.read() as session:  # idle sweeps must not take SQLite's write lock
        start = now(session)
        due = select(_timers.c.id).where(_timers.c.due_at <= start)
        if kinds is not None:
            due = due.where(_timers.c.kind.in_(kinds))
        if session.scalar(due.limit(1)) is None:
            return 0
    ran = 0
    if db.is_sqlite:
        try:
            while ran < limit:
                batch = _run_batch(db, now, start, min(BATCH, limit - ran), kinds)
                if batch == 0:
                    return ran
                ran += batch
        except _BatchFailed:
            pass
    failed: list[int] = []  # retried by a later sweep, never again within this one
    while ran < limit:
        with db.write() as session:
            moment = now(session)
            stmt = _due(min(moment, start), kinds, failed).limit(1)
            if db.is_postgres:
                stmt = stmt.with_for_update(skip_locked=True)
            timer = session.execute(stmt).first()
            if timer is None:
                return ran
            try:
                with session.begin_nested():
                    _run(session, timer, moment)
            except Exception as exc:
                log.exception("timer %s %s failed", timer.kind, timer.key)
                _postpone(session, timer.id, moment, exc)
                failed.append(timer.id)
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
                select(func.count()).select_from(_timers).where(_timers.c.due_at <= now(session))
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
