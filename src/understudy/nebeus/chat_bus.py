"""The chat bus: notifications stored per channel (Odoo bus.bus) and woken up across workers.

Every notification is a row of `nebeus_chat_bus` written in the transaction that caused it, just
before it commits, with ids that follow commit order (so Odoo's `id > last` cursor never skips a
row that commits late); the row is the truth (long-polling reads it). To wake the waiting
clients of every worker once that transaction commits, the hub publishes it:

* PostgreSQL: `pg_notify` inside the transaction (delivered only on commit) to a LISTEN connection
  (psycopg 3 async) in each worker;
* `UNDERSTUDY_REDIS_URL` set: Redis pub/sub, published right after commit;
* otherwise in-process, right after commit; on an SQLite file each worker also polls the table
  every `TABLE_POLL` seconds, so several workers still see each other's notifications (that
  poll bounds the cross-worker latency on SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import Counter, OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from anyio import to_thread
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session, SessionTransaction

from understudy.context import AppContext
from understudy.core.db import MAX_ID
from understudy.nebeus import chat_presence
from understudy.nebeus.chat_models import ChatNotification
from understudy.nebeus.chat_presence import Note

log = logging.getLogger(__name__)

PG_CHANNEL = "nebeus_chat"
REDIS_CHANNEL = "understudy:nebeus_chat"
PG_PAYLOAD_MAX = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
TABLE_POLL = 0.1  # seconds between reads of the bus table (SQLite file, no Redis)
MAINTENANCE = 5.0  # seconds between presence refresh / disconnection / cleanup rounds
LIFETIME = timedelta(seconds=100)  # notifications older than this are deleted
RECENT = timedelta(seconds=50)  # what a first poll (last=0) gets
DELIVERED_MEMORY = 100_000  # ids remembered to drop duplicates (several wake-up paths)
CLEANUP_EVERY = 64  # notifications sent by this worker between deletions of expired ones
PG_ORDER_LOCK = 0x6E6562_63686174  # advisory lock key: bus ids are allocated in commit order
_LISTENING = "nebeus_chat_listening"
_QUEUED = "nebeus_chat_queued"
_PENDING = "nebeus_chat_pending"

Row = tuple[int, str, Any]  # (id, channel key, message)


def channel_key(channel: Any) -> str:
    """The canonical text of a channel (JSON), as stored."""
    return json.dumps(channel, separators=(",", ":"), ensure_ascii=False)


class Subscriber:
    """A waiting client: its channels, an event for long-polls and a queue for sockets."""

    def __init__(self, channels: Iterable[str], *, queue: bool = False, wildcard: bool = False):
        self.channels = set(channels)
        self.event = asyncio.Event()
        self.queue: asyncio.Queue[Row] | None = asyncio.Queue() if queue else None
        self.wildcard = wildcard  # until it knows its channels: remember every key seen
        self.seen: set[str] = set()
        self.sent: set[int] = set()  # ids already handed to the client (sockets)

    def deliver(self, row: Row) -> None:
        """Hand a notification on one of its channels over."""
        if self.queue is not None:
            self.queue.put_nowait(row)
        self.event.set()


class Hub:
    """One per worker process and database: publishes notifications and wakes subscribers."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        db = ctx.db
        self.kind = "redis" if ctx.settings.redis_url else ("pg" if db.is_postgres else "local")
        self.poll_table = (
            self.kind == "local"
            and db.is_sqlite
            and db.url.database
            not in (
                None,
                "",
                ":memory:",
            )
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.by_channel: dict[str, set[Subscriber]] = {}
        self.wildcards: set[Subscriber] = set()
        self.connected: Counter[int] = Counter()
        self.delivered: OrderedDict[int, None] = OrderedDict()
        self.high_water = 0
        self.table_cursor = 0  # ids commit in order (see `_store`): the table poll reads past this
        self._sent = 0
        self.tasks: list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()
        self._redis: Any = None
        self._start_lock: asyncio.Lock | None = None
        # One Redis may serve several deployments: the channel names this database.
        where = db.url.render_as_string(hide_password=True)
        self.redis_channel = f"{REDIS_CHANNEL}:{hashlib.sha1(where.encode()).hexdigest()[:16]}"

    # --- publishing (inside the caller's transaction, on its thread) -------------------------

    def send(self, db: Session, notes: list[Note], now: datetime) -> None:
        """Queue the notes; they become bus rows just before the transaction commits."""
        if not notes:
            return
        if not db.info.get(_LISTENING):
            db.info[_LISTENING] = True
            event.listen(db, "before_commit", self._store)
            event.listen(db, "after_commit", self._after_commit)
            event.listen(db, "after_soft_rollback", _forget)
        queued = db.info.setdefault(_QUEUED, [])
        queued.extend((channel_key(ch), json.dumps(msg), now) for ch, msg in notes)

    def _store(self, db: Session) -> None:
        """Write the queued notes as rows whose ids follow commit order; publish them.

        A poller's cursor is the highest id it has seen (Odoo's `last`), so a row must never
        become visible after a row with a higher id. SQLite has one writer at a time; on
        PostgreSQL a transaction-scoped advisory lock, taken only now that the rest of the
        transaction is written, makes the id allocation and the commit one critical section
        (PostgreSQL already serializes the commits of transactions that NOTIFY).
        """
        if db.in_nested_transaction():  # a savepoint is released: wait for the real commit
            return
        queued = db.info.pop(_QUEUED, [])
        if not queued:
            return
        db.flush()  # the transaction's own changes first: the lock is then held only briefly
        self._sent += len(queued)
        if self._sent >= CLEANUP_EVERY:
            self._sent = 0
            now = max(at for _, _, at in queued)
            db.execute(delete(ChatNotification).where(ChatNotification.created_at < now - LIFETIME))
        if self.ctx.db.is_postgres:  # whatever carries the wake-ups (NOTIFY or Redis)
            db.execute(select(func.pg_advisory_xact_lock(PG_ORDER_LOCK)))
        table = ChatNotification.__table__
        values = [{"channel": k, "message": m, "created_at": at} for k, m, at in queued]
        # executemany: SQLAlchemy batches it into multi-row INSERTs and caches their compilation.
        stored = db.execute(
            insert(table).returning(table.c.id, table.c.channel, table.c.message), values
        )
        rows: list[Row] = [(i, c, m) for i, c, m in stored]
        rows.sort()
        full = {"rows": [list(r) for r in rows]}
        if self.kind == "pg":
            db.execute(select(func.pg_notify(PG_CHANNEL, self._pg_payload(full, rows))))
        else:
            db.info.setdefault(_PENDING, []).append(full)

    @staticmethod
    def _pg_payload(full: dict[str, Any], rows: list[Row]) -> str:
        text = json.dumps(full, separators=(",", ":"))
        if len(text.encode()) <= PG_PAYLOAD_MAX:
            return text
        span = {"lo": rows[0][0], "hi": rows[-1][0]}
        text = json.dumps(span | {"ch": sorted({r[1] for r in rows})}, separators=(",", ":"))
        return text if len(text.encode()) <= PG_PAYLOAD_MAX else json.dumps(span)

    def _after_commit(self, db: Session) -> None:
        if db.in_nested_transaction():
            return
        for payload in db.info.pop(_PENDING, []):
            try:
                if self.kind == "redis":
                    self._redis_client().publish(self.redis_channel, json.dumps(payload))
                elif self.loop is not None:
                    self.loop.call_soon_threadsafe(self._on_payload, payload)
            except Exception:  # the transaction is committed: pollers still find the rows
                log.exception("chat bus: publishing failed")

    def _redis_client(self) -> Any:
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.ctx.settings.redis_url or "")
        return self._redis

    # --- subscribing (event loop) --------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the listeners are started."""
        return self.loop is not None

    async def subscribe(self, sub: Subscriber) -> None:
        """Start delivering to `sub` (starting the hub's listeners on first use)."""
        await self.start()
        self.watch(sub)

    def watch(self, sub: Subscriber) -> None:
        """Deliver to `sub` whatever the hub receives (it may not be started yet)."""
        for key in sub.channels:
            self.by_channel.setdefault(key, set()).add(sub)
        if sub.wildcard:
            self.wildcards.add(sub)

    def narrow(self, sub: Subscriber, channels: Iterable[str]) -> bool:
        """Give a wildcard subscriber its channels; whether one of them was seen meanwhile."""
        self.wildcards.discard(sub)
        sub.wildcard = False
        sub.event.clear()  # set by other channels' notifications meanwhile
        self.add_channels(sub, channels)
        return bool(sub.seen & sub.channels)

    def add_channels(self, sub: Subscriber, channels: Iterable[str]) -> None:
        """Deliver these channels to `sub` as well."""
        for key in channels:
            sub.channels.add(key)
            self.by_channel.setdefault(key, set()).add(sub)

    def drop_channels(self, sub: Subscriber, channels: Iterable[str]) -> None:
        """Stop delivering these channels to `sub`."""
        for key in channels:
            sub.channels.discard(key)
            subs = self.by_channel.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.by_channel[key]

    def unsubscribe(self, sub: Subscriber) -> None:
        """Stop delivering to `sub`."""
        self.wildcards.discard(sub)
        for key in sub.channels:
            subs = self.by_channel.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.by_channel[key]

    def _on_payload(self, payload: dict[str, Any]) -> None:
        if "rows" in payload:
            self._dispatch([(int(i), str(c), m) for i, c, m in payload["rows"]])
            return
        keys = payload.get("ch")
        if keys is not None and not self.wildcards and not any(k in self.by_channel for k in keys):
            return
        lo, hi = int(payload["lo"]), int(payload["hi"])
        self._spawn(self._fetch_and_dispatch(lambda s: _rows_between(s, lo, hi)))

    async def _fetch_and_dispatch(self, query: Any) -> None:
        def read() -> list[Row]:
            with self.ctx.db.read() as session:
                return query(session)

        self._dispatch(await to_thread.run_sync(read))

    def _dispatch(self, rows: list[Row]) -> None:
        for ident, key, raw in rows:
            if ident in self.delivered:
                continue
            self.delivered[ident] = None
            if len(self.delivered) > DELIVERED_MEMORY:
                self.delivered.popitem(last=False)
            self.high_water = max(self.high_water, ident)
            message = json.loads(raw) if isinstance(raw, str) else raw
            for sub in list(self.by_channel.get(key, ())):
                sub.deliver((ident, key, message))
            for sub in list(self.wildcards):
                sub.seen.add(key)
                sub.event.set()

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the listeners and the maintenance loop (once); waits until they listen."""
        if self.loop is not None:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self.loop is not None:
                return
            self.high_water = await to_thread.run_sync(self._max_id)
            self.table_cursor = self.high_water
            self.ready = asyncio.Event()
            if self.kind == "pg":
                self._spawn(self._pg_listen(), keep=True)
            elif self.kind == "redis":
                self._spawn(self._redis_listen(), keep=True)
            else:
                self.ready.set()
                if self.poll_table:
                    self._spawn(self._table_poll(), keep=True)
            self._spawn(self._maintain(), keep=True)
            self.loop = asyncio.get_running_loop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), timeout=10)

    async def stop(self) -> None:
        """Cancel every task of the hub and close its connections."""
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.loop = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                self._redis.close()
            self._redis = None

    def _spawn(self, coro: Any, *, keep: bool = False) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.append(task)
        if not keep:
            task.add_done_callback(lambda t: t in self.tasks and self.tasks.remove(t))

    def _max_id(self) -> int:
        with self.ctx.db.read() as session:
            return int(session.scalar(select(func.max(ChatNotification.id))) or 0)

    def _catch_up(self) -> None:
        """After (re)connecting a listener: anything committed meanwhile."""
        floor = self.high_water
        self._spawn(self._fetch_and_dispatch(lambda s: _rows_after(s, floor)))

    async def _pg_listen(self) -> None:
        import psycopg

        dsn = self.ctx.db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {PG_CHANNEL}")
                    self._catch_up()
                    self.ready.set()
                    async for note in conn.notifies():
                        self._on_payload(json.loads(note.payload))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("chat bus: LISTEN connection lost; reconnecting")
                await asyncio.sleep(1)

    async def _redis_listen(self) -> None:
        import redis.asyncio as aioredis

        while True:
            client = aioredis.from_url(self.ctx.settings.redis_url or "")
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.redis_channel)
                    self._catch_up()
                    self.ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._on_payload(json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("chat bus: Redis subscription lost; reconnecting")
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _table_poll(self) -> None:
        while True:
            await asyncio.sleep(TABLE_POLL)
            if not self.by_channel and not self.wildcards:
                continue
            floor = self.table_cursor
            try:
                rows = await to_thread.run_sync(self._read_after, floor)
            except Exception:
                log.exception("chat bus: reading the bus table failed")
                continue
            if rows:
                self.table_cursor = max(self.table_cursor, rows[-1][0])
                self._dispatch(rows)

    def _read_after(self, floor: int) -> list[Row]:
        with self.ctx.db.read() as session:
            return _rows_after(session, floor)

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(MAINTENANCE)
            try:
                await to_thread.run_sync(self.maintain_once)
            except Exception:
                log.exception("chat bus: maintenance round failed")

    def maintain_once(self) -> None:
        """One maintenance round: refresh connected users, disconnect stale ones, clean up."""
        users = [uid for uid, n in self.connected.items() if n > 0]
        self.ctx.db.transaction(lambda db: self._round(db, users))

    def _round(self, db: Session, users: list[int]) -> None:
        now = self.ctx.now(db)
        notes = chat_presence.refresh_connected(db, user_ids=users, now=now)
        notes += chat_presence.disconnect_stale(db, now=now)
        db.execute(delete(ChatNotification).where(ChatNotification.created_at < now - LIFETIME))
        self.send(db, notes, now)


def _forget(db: Session, transaction: SessionTransaction) -> None:
    """The transaction rolled back: what it queued or stored is gone (savepoints aside)."""
    if transaction.parent is None:
        db.info.pop(_QUEUED, None)
        db.info.pop(_PENDING, None)


def _rows_between(session: Session, lo: int, hi: int) -> list[Row]:
    rows = session.execute(
        select(ChatNotification.id, ChatNotification.channel, ChatNotification.message)
        .where(ChatNotification.id >= lo, ChatNotification.id <= hi)
        .order_by(ChatNotification.id)
    )
    return [(i, c, m) for i, c, m in rows]


def _rows_after(session: Session, floor: int, limit: int = 1000) -> list[Row]:
    rows = session.execute(
        select(ChatNotification.id, ChatNotification.channel, ChatNotification.message)
        .where(ChatNotification.id > floor)
        .order_by(ChatNotification.id)
        .limit(limit)
    )
    return [(i, c, m) for i, c, m in rows]


def fetch(
    db: Session, *, channels: Iterable[str], last: int, now: datetime
) -> list[dict[str, Any]]:
    """Notifications on these channels after `last` (0: those of the last 50 s), oldest first."""
    query = select(ChatNotification).where(ChatNotification.channel.in_(list(channels)))
    if last > 0:
        query = query.where(ChatNotification.id > min(last, MAX_ID))
    else:
        query = query.where(ChatNotification.created_at >= now - RECENT)
    return [
        {"id": n.id, "channel": json.loads(n.channel), "message": json.loads(n.message)}
        for n in db.scalars(query.order_by(ChatNotification.id).limit(1000))
    ]


def hub_for(app: Any) -> Hub:
    """The application's hub (made on first use)."""
    hub = getattr(app.state, "chat_hub", None)
    if hub is None:
        hub = Hub(app.state.ctx)
        app.state.chat_hub = hub
    return hub
