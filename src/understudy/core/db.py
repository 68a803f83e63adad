"""Engines, sessions and transactions on SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from understudy.core.text import is_ascii_digits

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ID = 2**31 - 1  # ids are 32-bit integers (PostgreSQL INTEGER): a larger one names nothing


def is_id(value: int | None) -> bool:
    """True when `value` could be a row's id: a positive 32-bit integer."""
    return value is not None and 0 < value <= MAX_ID


def parse_id(text: str | None) -> int | None:
    """The id written in ASCII digits in `text` (spaces around allowed), else None."""
    text = (text or "").strip()
    if not is_ascii_digits(text):
        return None
    digits = text.lstrip("0")
    if len(digits) > len(str(MAX_ID)):  # also spares int() a huge string, which it refuses
        return None
    value = int(digits or "0")
    return value if is_id(value) else None


def row_by_id(session: Session, model: type[T], ident: int | None) -> T | None:
    """The `model` row with this id; None when there is none or no row could have that id."""
    return session.get(model, ident) if is_id(ident) else None


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_MIN_POOL = 40  # anyio's default worker-thread limit

# SQLSTATEs worth retrying on PostgreSQL: serialization failure, deadlock.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


class Base(DeclarativeBase):
    """Declarative base for every table of every service (one metadata, one migration history)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize_url(url: str) -> URL:
    """Parse a database URL, defaulting PostgreSQL to the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def mask_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return normalize_url(str(url) if isinstance(url, URL) else url).render_as_string(
            hide_password=True
        )
    except Exception:
        return "<unparseable database URL>"


def is_retryable(exc: BaseException) -> bool:
    """True for transient concurrency failures: PG serialization/deadlock, SQLite busy."""
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if sqlstate in _RETRYABLE_SQLSTATES:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(orig):
            return True
    return False


class WriterBusy(Exception):
    """SQLite's writer is taken (by this process or another) and the caller would not wait."""


class Database:
    """Both engines and the session factories; writes on SQLite take the lock up front."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.pool_size = pool_size
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect!r}; use sqlite or postgresql")
        self.inline = self.is_sqlite and not self._sqlite_memory
        # SQLite has one writer: this process's writers queue here, in order, rather than in
        # SQLite's busy handler, which sleeps (up to 100 ms a time) between attempts.
        self._write_lock = threading.RLock()
        if self.is_sqlite:
            self.write_engine = self._sqlite_engine(begin="BEGIN IMMEDIATE", echo=echo)
            self.read_engine = (
                self.write_engine if self._sqlite_memory else self._sqlite_engine("BEGIN", echo)
            )
        else:
            self.write_engine = create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                echo=echo,
            )
            self.read_engine = self.write_engine
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        if self.inline:
            # The event loop's own writer: it never waits for SQLite's lock (busy_timeout 0), a
            # busy database sends the unit to a worker thread instead.
            self._inline_engine = self._sqlite_engine(
                "BEGIN IMMEDIATE", echo, busy_ms=0, pool_size=1
            )
            self._inline_write_sessions = sessionmaker(self._inline_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded SQLite backend."""
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL."""
        return self.dialect == "postgresql"

    @property
    def _sqlite_memory(self) -> bool:
        return self.url.database in (None, "", ":memory:")

    def _sqlite_engine(
        self, begin: str, echo: bool, *, busy_ms: int = 30_000, pool_size: int | None = None
    ) -> Engine:
        kwargs: dict[str, Any] = {
            "connect_args": {"check_same_thread": False, "timeout": busy_ms / 1000}
        }
        if self._sqlite_memory:
            kwargs["poolclass"] = StaticPool
        else:
            # Keep a connection for every thread of the request threadpool (40): opening one,
            # with its pragmas, costs far more than the queries a request makes.
            size = pool_size or max(self.pool_size, SQLITE_MIN_POOL)
            kwargs.update(pool_size=size, max_overflow=size)
        engine = create_engine(self.url, echo=echo, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            if not self._sqlite_memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        return engine

    @contextmanager
    def write(self, *, inline: bool = False) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any exception.

        `inline` (SQLite file only): raise WriterBusy at once rather than wait for the writer.
        """
        if not self.is_sqlite:
            with self._write_sessions() as session, session.begin():
                yield session
            return
        if not inline:
            with self._write_lock, self._write_sessions() as session, session.begin():
                yield session
            return
        if not self.inline or not self._write_lock.acquire(blocking=False):
            raise WriterBusy
        try:
            with self._inline_write_sessions() as session, session.begin():
                yield session
        finally:
            self._write_lock.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (never committed)."""
        with self._read_sessions() as session:
            yield session  # closing the session rolls the implicit transaction back

    def transaction(
        self, fn: Callable[[Session], T], *, retries: int = 8, backoff: float = 0.01
    ) -> T:
        """Run fn(session) in a write transaction, retrying transient concurrency failures."""
        attempt = 0
        while True:
            try:
                with self.write() as session:
                    return fn(session)
            except DBAPIError as exc:
                attempt += 1
                if attempt > retries or not is_retryable(exc):
                    raise
                log.debug("retrying transaction after %s (attempt %d)", exc.orig, attempt)
                time.sleep(backoff * (2 ** min(attempt, 6)))

    async def run_read(self, fn: Callable[[Session], T], *, inline: bool = True) -> T:
        """Run a quick fn(session) read-only: inline on a SQLite file, else in a worker thread."""
        # WAL readers never wait for the writer, so inline the unit costs only its queries,
        # where a worker thread costs two GIL hand-offs.
        if inline and self.inline:
            with self.read() as session:
                return fn(session)
        return await to_thread.run_sync(self._read_unit, fn)

    async def run_write(self, fn: Callable[[Session], T], *, inline: bool = True) -> T:
        """Run a quick fn(session) in a write transaction, inline when SQLite's lock is free."""
        # Otherwise (lock held, or PostgreSQL) in a worker thread, with transaction()'s retries.
        if inline and self.inline:
            try:
                with self.write(inline=True) as session:
                    return fn(session)
            except WriterBusy:
                pass
            except OperationalError as exc:
                if not is_retryable(exc):
                    raise
        return await to_thread.run_sync(self.transaction, fn)

    async def run_exclusive(self, fn: Callable[[], T], *, inline: bool = True) -> T:
        """Run fn(), which opens write transactions of its own, as this process's only writer.

        On a SQLite file whose writer is free it runs inline and its writes re-enter the lock
        held here (a writer of another process can still make them wait); otherwise in a worker
        thread, where each of its writes queues as usual.
        """
        if inline and self.inline and self._write_lock.acquire(blocking=False):
            try:
                return fn()
            finally:
                self._write_lock.release()
        return await to_thread.run_sync(fn)

    def _read_unit(self, fn: Callable[[Session], T]) -> T:
        with self.read() as session:
            return fn(session)

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        # A pooled DBAPI connection: a real round trip without the ORM's transaction machinery.
        raw = self.read_engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            raw.close()

    async def ping_async(self) -> None:
        """ping() without blocking the event loop (inline on a SQLite file, where it cannot)."""
        if self.inline:
            self.ping()
        else:
            await to_thread.run_sync(self.ping)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
        if self.inline:
            self._inline_engine.dispose()
