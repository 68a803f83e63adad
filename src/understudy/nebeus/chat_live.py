"""Real-time chat delivery: Odoo's long-polling route and a WebSocket, both fed by the bus."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, FastAPI, WebSocket
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from understudy.nebeus import chat_bus, chat_presence, jsonrpc
from understudy.nebeus.chat_bus import Hub, Subscriber, channel_key
from understudy.nebeus.chat_models import ChatMember, ChatSession
from understudy.nebeus.jsonrpc import Call, field_error, route
from understudy.nebeus.params import as_int, blank

log = logging.getLogger(__name__)

POLL_TIMEOUT = 50.0  # seconds a long-poll waits for a notification
WORKER_HEADER = "x-understudy-worker"
SESSION_EXPIRED = 4001  # WebSocket close code (Odoo's)
MAX_CHANNELS = 500


def allowed_channels(db: Session, *, user_id: int, channels: Any) -> list[str]:
    """The caller's own channel plus the requested session uuids the caller is a member of."""
    own = channel_key(chat_presence.user_channel(user_id))
    wanted = channels[:MAX_CHANNELS] if isinstance(channels, list) else []
    uuids = {c for c in wanted if isinstance(c, str) and 0 < len(c) <= 36}
    member_of: set[str] = set()
    if uuids:
        member_of = set(
            db.scalars(
                select(ChatSession.uuid)
                .join(ChatMember, ChatMember.session_id == ChatSession.id)
                .where(ChatSession.uuid.in_(uuids), ChatMember.user_id == user_id)
            )
        )
    return [own, *sorted(channel_key(u) for u in member_of)]


def _worker(response: Response) -> Response:
    response.headers[WORKER_HEADER] = str(os.getpid())
    return response


async def _poll_front(request: Request, target: jsonrpc.Route) -> Response:
    """Run the poll; when it found nothing, wait for the bus and run it again (≤ 50 s)."""
    hub = chat_bus.hub_for(request.app)
    sub = Subscriber((), wildcard=True)  # before the first read, so nothing slips between
    hub.watch(sub)
    request.state.chat_polls = []
    user_id: int | None = None
    disconnect: asyncio.Task[Any] | None = None
    try:
        response = await jsonrpc.dispatch(request, target)
        polls = request.state.chat_polls
        if len(polls) != 1 or not _empty(response):
            return _worker(response)
        user_id, keys = polls[0]
        hub.connected[user_id] += 1
        # A hub started only now may have missed what came since the read: read again.
        woken = not hub.running
        await hub.start()
        woken = hub.narrow(sub, keys) or woken
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_TIMEOUT
        disconnect = asyncio.ensure_future(_disconnected(request))
        while True:
            if not woken:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return _worker(response)
                waiter = asyncio.ensure_future(sub.event.wait())
                done, _ = await asyncio.wait(
                    {waiter, disconnect}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                waiter.cancel()
                if disconnect in done:
                    return _worker(response)
                if waiter not in done:
                    continue
            sub.event.clear()
            woken = False
            request.state.chat_polls = []
            response = await jsonrpc.dispatch(request, target)
            if not _empty(response):
                return _worker(response)
    finally:
        hub.unsubscribe(sub)
        if user_id is not None:
            hub.connected[user_id] -= 1
        if disconnect is not None:
            disconnect.cancel()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _empty(response: Response) -> bool:
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("result") == []


@route(
    "/longpolling/poll",
    params={
        "channels": {"type": "array", "items": {}},
        "last": {"type": "integer"},
        "options": {"type": "object"},
    },
    summary="Long-polling: wait for chat notifications",
    front=_poll_front,
    activity=False,  # a poll is activity only with `options.im_presence`
)
def poll(call: Call) -> list[dict[str, Any]]:
    """Notifications on the caller's channel and sessions after `last`; waits up to 50 s."""
    options = call.params.get("options")
    presence = bool(options.get("im_presence")) if isinstance(options, dict) else False
    hub = chat_bus.hub_for(call.request.app)
    hub.send(
        call.db,
        chat_presence.touch(call.db, user_id=call.uid, now=call.now, user_presence=presence),
        call.now,
    )
    last = 0
    if not blank(call.params.get("last")):
        number = as_int(call.params["last"])
        if number is None or number < 0:
            raise field_error("last", "Last is not valid")
        last = number
    keys = allowed_channels(call.db, user_id=call.uid, channels=call.params.get("channels"))
    found = chat_bus.fetch(call.db, channels=keys, last=last, now=call.now)
    polls = getattr(call.request.state, "chat_polls", None)
    if polls is not None:
        polls.append((call.uid, keys))
    return found


# --- WebSocket ----------------------------------------------------------------------------------


def _session_id(conn: HTTPConnection) -> str | None:
    for value in (
        conn.query_params.get("session_id"),
        conn.headers.get("x-openerp-session-id"),
        conn.cookies.get(jsonrpc.COOKIE),
    ):
        if value:
            return value if len(value) <= 64 and "\x00" not in value else None
    return None


def _open(hub: Hub, sid: str | None) -> int | None:
    """The user of this session (now online), else None."""

    def work(db: Session) -> int | None:
        now = hub.ctx.now(db)
        user = jsonrpc.current_user(db, session_id=sid, now=now)
        if user is None:
            return None
        hub.send(db, chat_presence.touch(db, user_id=user.id, now=now, user_presence=True), now)
        return user.id

    return hub.ctx.db.transaction(work)


async def websocket(ws: WebSocket) -> None:
    """Push the caller's notifications as JSON arrays; accepts `subscribe`, `update_presence`."""
    hub = chat_bus.hub_for(ws.app)
    sid = _session_id(ws)
    user_id = await to_thread.run_sync(lambda: _open(hub, sid)) if sid else None
    await ws.accept(headers=[(WORKER_HEADER.encode(), str(os.getpid()).encode())])
    if user_id is None:
        await ws.close(SESSION_EXPIRED, "Session expired")
        return
    uid: int = user_id
    sub = Subscriber([channel_key(chat_presence.user_channel(uid))], queue=True)
    await hub.subscribe(sub)
    hub.connected[uid] += 1
    pump = asyncio.ensure_future(_pump(hub, ws, sub, uid))
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
            try:
                frame = json.loads(raw)
            except ValueError:
                await ws.close(1003, "Invalid JSON")
                return
            await _on_frame(hub, ws, sub, uid, frame)
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
        hub.unsubscribe(sub)
        hub.connected[uid] -= 1


async def _pump(hub: Hub, ws: WebSocket, sub: Subscriber, uid: int) -> None:
    assert sub.queue is not None
    own = channel_key(chat_presence.user_channel(uid))
    while True:
        rows = [await sub.queue.get()]
        while not sub.queue.empty():
            rows.append(sub.queue.get_nowait())
        rows = [r for r in rows if r[0] not in sub.sent]
        sessions = {json.loads(r[1]) for r in rows if r[1] != own}
        if sessions:  # still a member? (a group's members may have changed since `subscribe`)
            kept = await to_thread.run_sync(_still_allowed, hub, uid, sorted(sessions))
            gone = {channel_key(u) for u in sessions} - kept
            if gone:
                hub.drop_channels(sub, gone)
                rows = [r for r in rows if r[1] not in gone]
        if rows:
            _remember(sub, [r[0] for r in rows])
            batch = [{"id": i, "channel": json.loads(k), "message": m} for i, k, m in rows]
            await ws.send_text(json.dumps(batch))


def _still_allowed(hub: Hub, uid: int, uuids: list[str]) -> set[str]:
    with hub.ctx.db.read() as db:
        return set(allowed_channels(db, user_id=uid, channels=uuids))


def _remember(sub: Subscriber, ids: list[int]) -> None:
    if len(sub.sent) > 10_000:
        sub.sent.clear()
    sub.sent.update(ids)


async def _on_frame(hub: Hub, ws: WebSocket, sub: Subscriber, uid: int, frame: Any) -> None:
    if not isinstance(frame, dict) or not isinstance(frame.get("data", {}), dict):
        return
    data = frame.get("data") or {}
    name = frame.get("event_name")
    if name == "update_presence":
        presence = bool(data.get("im_presence", True))

        def touch(db: Session) -> None:
            now = hub.ctx.now(db)
            notes = chat_presence.touch(db, user_id=uid, now=now, user_presence=presence)
            hub.send(db, notes, now)

        await to_thread.run_sync(lambda: hub.ctx.db.transaction(touch))
    elif name == "subscribe":
        channels, last = data.get("channels"), as_int(data.get("last"))

        def read(db: Session) -> tuple[list[str], list[dict[str, Any]]]:
            keys = allowed_channels(db, user_id=uid, channels=channels)
            if last is None or last < 0:
                return keys, []
            return keys, chat_bus.fetch(db, channels=keys, last=last, now=hub.ctx.now(db))

        keys, backlog = await to_thread.run_sync(lambda: hub.ctx.db.transaction(read))
        hub.add_channels(sub, keys)
        backlog = [item for item in backlog if item["id"] not in sub.sent]
        if backlog:  # the live path skips what the backlog already gave
            _remember(sub, [item["id"] for item in backlog])
            await ws.send_text(json.dumps(backlog))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the worker's chat hub with the app and stop it at shutdown."""
    hub = chat_bus.hub_for(app)
    try:
        await hub.start()
    except Exception:
        log.exception("chat bus: could not start; it starts on the first subscriber")
    try:
        yield
    finally:
        await hub.stop()


router = APIRouter(lifespan=lifespan)
router.add_api_websocket_route("/websocket", websocket, name="nebeus_websocket")
