"""Long-polling's `id > last` cursor never skips a notification that commits late."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from anyio import to_thread
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from tests.nebeus.test_chat import Person, call
from understudy.context import AppContext
from understudy.nebeus import chat_bus
from understudy.nebeus.chat_bus import Subscriber, channel_key
from understudy.nebeus.chat_presence import user_channel

pytestmark = pytest.mark.usefixtures("stop_hub")

POLL = "/longpolling/poll"


def note(ctx: AppContext, app: FastAPI, db: Session, who: Person, label: str) -> None:
    """Queue a notification for `who` in this transaction."""
    chat_bus.hub_for(app).send(db, [(user_channel(who.uid), {"n": label})], ctx.now(db))


async def poll(client: httpx.AsyncClient, who: Person, last: int) -> list[dict[str, Any]]:
    """One long-poll on the user's own channel."""
    return list(await call(client, who, POLL, channels=[], last=last))


async def interleaving_cursor(ctx: AppContext, client: httpx.AsyncClient, who: Person) -> int:
    """The user's current `last` cursor; skips where transactions cannot interleave."""
    if not ctx.db.is_postgres:
        pytest.skip("SQLite has one writer at a time: transactions cannot interleave")
    return max((n["id"] for n in await poll(client, who, 0)), default=0)


def labels(found: list[dict[str, Any]]) -> list[str]:
    """The test labels among polled notifications (presence notes aside)."""
    return [n["message"]["n"] for n in found if "n" in n["message"]]


async def test_polls_follow_commits_in_order(
    app: FastAPI, ctx: AppContext, client: httpx.AsyncClient, pair: list[Person]
) -> None:
    _, oneiric = pair
    start = await poll(client, oneiric, 0)
    last = max((n["id"] for n in start), default=0)
    seen: list[dict[str, Any]] = []
    for label in ("first", "second"):
        with ctx.db.write() as db:
            note(ctx, app, db, oneiric, label)
        got = await poll(client, oneiric, last)
        seen += got
        last = max((n["id"] for n in got), default=last)
    assert labels(seen) == ["first", "second"]
    assert [n["id"] for n in seen] == sorted({n["id"] for n in seen})
    with pytest.raises(RuntimeError), ctx.db.write() as db:  # rolled back: never stored
        note(ctx, app, db, oneiric, "rolled back")
        raise RuntimeError
    assert await poll(client, oneiric, last) == []


async def test_a_released_savepoint_neither_stores_nor_publishes_before_the_commit(
    app: FastAPI, ctx: AppContext, client: httpx.AsyncClient, pair: list[Person]
) -> None:
    _, oneiric = pair
    hub = chat_bus.hub_for(app)
    await hub.start()
    sub = Subscriber([channel_key(user_channel(oneiric.uid))], queue=True)
    hub.watch(sub)
    assert sub.queue is not None
    with ctx.db.write() as db:
        note(ctx, app, db, oneiric, "outer")
        with db.begin_nested():  # released: not the commit
            pass
        await asyncio.sleep(0.01)  # let any early publication reach the subscriber
        assert sub.queue.empty()
    for _ in range(2000):
        if not sub.queue.empty():
            break
        await asyncio.sleep(0.005)
    assert sub.queue.get_nowait()[2] == {"n": "outer"}
    assert labels(await poll(client, oneiric, 0)) == ["outer"]  # stored once


async def test_a_notification_sent_first_but_committed_last_is_not_skipped(
    app: FastAPI, ctx: AppContext, client: httpx.AsyncClient, pair: list[Person]
) -> None:
    _, oneiric = pair
    last = await interleaving_cursor(ctx, client, oneiric)
    with ctx.db.write() as late:
        note(ctx, app, late, oneiric, "sent first")
        with ctx.db.write() as early:
            note(ctx, app, early, oneiric, "sent second")
        first = await poll(client, oneiric, last)  # only the committed one is visible
        assert labels(first) == ["sent second"]
    second = await poll(client, oneiric, max(n["id"] for n in first))
    assert labels(second) == ["sent first"]


async def test_a_commit_in_progress_holds_later_ids_back(
    app: FastAPI, ctx: AppContext, client: httpx.AsyncClient, pair: list[Person]
) -> None:
    _, oneiric = pair
    last = await interleaving_cursor(ctx, client, oneiric)
    inserted, release = threading.Event(), threading.Event()

    def slow_commit() -> None:
        with ctx.db.write() as db:
            note(ctx, app, db, oneiric, "slow")

            @event.listens_for(db, "before_commit")
            def pause(_: Session) -> None:  # runs after the bus rows are inserted
                inserted.set()
                release.wait(30)

    def quick_commit() -> None:
        with ctx.db.write() as db:
            note(ctx, app, db, oneiric, "quick")

    slow = threading.Thread(target=slow_commit)
    slow.start()
    quick = threading.Thread(target=quick_commit)
    try:
        assert await to_thread.run_sync(inserted.wait, 30)
        quick.start()
        await to_thread.run_sync(wait_for_advisory_lock_waiter, ctx)
        assert await poll(client, oneiric, last) == []  # neither has committed yet
    finally:
        release.set()
        slow.join()
        if quick.is_alive() or quick.ident is not None:
            quick.join()
    assert labels(await poll(client, oneiric, last)) == ["slow", "quick"]


def wait_for_advisory_lock_waiter(ctx: AppContext) -> None:
    """Return once some backend waits for an advisory lock (guarded against hanging)."""
    with ctx.db.read() as db:
        for _ in range(3000):
            waiting = db.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            )
            if waiting:
                return
            db.rollback()
            threading.Event().wait(0.01)
    raise AssertionError("no transaction ever waited for the bus order lock")
