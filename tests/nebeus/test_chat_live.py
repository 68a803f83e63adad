"""Real-time chat in one process: /longpolling/poll and /websocket fed by the bus."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from anyio import to_thread
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import ADMIN
from tests.nebeus.test_chat import API, Person, call, make_group, make_trio
from understudy.app import create_app
from understudy.config import Settings
from understudy.context import AppContext
from understudy.nebeus import chat_bus, chat_live

POLL = "/longpolling/poll"
MESSAGE_KEYS = ["id", "from_id", "to_id", "create_date", "type", "message"]


@pytest.fixture
def trio(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> list[Person]:
    """Three users: Lucid Lynx, Oneiric Ocelot, Precise Pangolin."""
    return make_trio(ctx, monkeypatch)


@pytest.fixture(autouse=True)
async def stop_hub(app: FastAPI) -> AsyncIterator[None]:
    """Stop the chat hub's listeners after each test."""
    yield
    await chat_bus.hub_for(app).stop()


def own(who: Person) -> list[Any]:
    """A user's bus channel."""
    return ["nebeus", "im_chat.session", who.uid]


async def session_with(client: httpx.AsyncClient, a: Person, b: Person) -> str:
    """The uuid of a's 1:1 session with b."""
    return str((await call(client, a, f"{API}/get_or_create_session", user_to=b.uid))["uuid"])


async def say(
    client: httpx.AsyncClient, who: Person, uuid: str, text: str, kind: str = "message"
) -> Any:
    """Post as this user."""
    return await call(
        client, who, "/im_chat/post", uuid=uuid, message_type=kind, message_content=text
    )


async def until(condition: Any) -> None:
    """Yield to the event loop until the condition holds (guarded against hanging)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


async def test_poll_gives_recent_notifications_on_allowed_channels_only(
    client: httpx.AsyncClient, trio: list[Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_live, "POLL_TIMEOUT", 0.0)
    lucid, oneiric, precise = trio
    uuid = await session_with(client, lucid, oneiric)
    other = await session_with(client, lucid, precise)
    posted = await say(client, lucid, uuid, "888")
    await say(client, lucid, other, "not for oneiric")
    got = await call(client, oneiric, POLL, channels=[uuid, other, own(lucid)], last=0)
    assert all(list(n) == ["id", "channel", "message"] for n in got)
    assert {json.dumps(n["channel"]) for n in got} == {json.dumps(own(oneiric)), json.dumps(uuid)}
    messages = [n for n in got if n["message"].get("type") == "message"]
    assert [n["channel"] for n in messages] == [uuid, own(oneiric)]
    body = messages[0]["message"]
    assert list(body) == MESSAGE_KEYS
    assert body["id"] == posted["message_id"] and body["message"] == "888"
    assert body["from_id"] == [lucid.uid, "Lucid Lynx"] and body["to_id"][1] == uuid
    infos = [n["message"] for n in got if "uuid" in n["message"]]
    assert [i["uuid"] for i in infos] == [uuid]  # the new session, on oneiric's channel
    assert [n["id"] for n in got] == sorted(n["id"] for n in got)
    assert await call(client, oneiric, POLL, channels=[uuid], last=got[-1]["id"]) == []
    assert await call(client, oneiric, POLL, last="x") == {
        "status": "error",
        "field": "last",
        "message": "Last is not valid",
    }


async def test_a_waiting_poll_wakes_on_typing_and_messages(
    app: FastAPI, client: httpx.AsyncClient, trio: list[Person]
) -> None:
    lucid, oneiric, _ = trio
    uuid = await session_with(client, lucid, oneiric)
    seen = await call(client, oneiric, POLL, channels=[uuid], last=0)
    last = max(n["id"] for n in seen)
    hub = chat_bus.hub_for(app)
    waiting = asyncio.ensure_future(call(client, oneiric, POLL, channels=[uuid], last=last))
    await until(lambda: hub.connected[oneiric.uid] > 0)
    assert await say(client, lucid, uuid, "", kind="typing") == {"message_id": False}
    got = await waiting
    assert {n["message"]["type"] for n in got} == {"typing"}
    assert all(n["message"]["id"] is False for n in got)
    assert await call(client, oneiric, f"{API}/history", uuid=uuid) == []  # never stored


async def test_an_idle_poll_answers_empty_after_its_timeout(
    client: httpx.AsyncClient, trio: list[Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_live, "POLL_TIMEOUT", 0.05)
    lucid, _, _ = trio
    assert await call(client, lucid, POLL, channels=[], last=1 << 40) == []


async def test_presence_changes_reach_contacts(
    app: FastAPI, client: httpx.AsyncClient, trio: list[Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_live, "POLL_TIMEOUT", 0.0)
    lucid, oneiric, precise = trio
    hub = chat_bus.hub_for(app)
    await session_with(client, lucid, oneiric)
    await call(client, oneiric, POLL, last=0, options={"im_presence": True})
    hub.connected[lucid.uid] += 1  # as an open poll or socket of lucid's would
    await client.post("/_understudy/clock", json={"advance": 50}, headers=ADMIN)
    await to_thread.run_sync(hub.maintain_once)  # lucid's presence refreshed, oneiric's not
    await client.post("/_understudy/clock", json={"advance": 6}, headers=ADMIN)
    await to_thread.run_sync(hub.maintain_once)  # oneiric: no poll for 56 s
    users = await call(client, precise, f"{API}/user_chat_ab/get_all_users")
    assert [u["im_status"] for u in users] == ["online", "offline"]  # Lucid, Oneiric
    hub.connected[lucid.uid] -= 1
    got = await call(client, lucid, POLL, last=0)
    statuses = [n["message"] for n in got if "im_status" in n["message"]]
    assert statuses == [{"id": oneiric.uid, "im_status": "offline"}]
    mine = await call(client, precise, POLL, last=0)
    assert not [n for n in mine if n["message"].get("id") == oneiric.uid]  # not a contact
    await call(client, oneiric, f"{API}/get_sessions")  # back: online again
    again = await call(client, lucid, POLL, last=got[-1]["id"])
    assert [n["message"] for n in again] == [{"id": oneiric.uid, "im_status": "online"}]


# --- WebSocket, on a real server in this event loop ----------------------------------------


@pytest.fixture
async def live(app: FastAPI) -> AsyncIterator[str]:
    """The app served by uvicorn on a free port; yields its ws:// base."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    await until(lambda: server.started)
    yield f"ws://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def receive(ws: ClientConnection) -> list[dict[str, Any]]:
    """The next batch of notifications."""
    return list(json.loads(await asyncio.wait_for(ws.recv(), timeout=30)))


async def test_websocket_needs_a_session(live: str) -> None:
    async with connect(f"{live}/websocket?session_id=bogus") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_websocket_pushes_messages_and_typing(
    live: str, client: httpx.AsyncClient, trio: list[Person]
) -> None:
    lucid, oneiric, precise = trio
    uuid = await session_with(client, lucid, oneiric)
    foreign = await session_with(client, lucid, precise)
    headers = {"X-Openerp-Session-Id": oneiric.sid}
    async with connect(f"{live}/websocket", additional_headers=headers) as ws:
        assert ws.response is not None and ws.response.headers.get("x-understudy-worker")
        posted = await say(client, lucid, uuid, "hello")
        [note] = await receive(ws)
        assert note["channel"] == own(oneiric)
        assert list(note["message"]) == MESSAGE_KEYS
        assert note["message"]["id"] == posted["message_id"]
        await say(client, lucid, uuid, "", kind="typing")
        [typing] = await receive(ws)
        assert typing["message"]["type"] == "typing"
        # Session channels on request, with their backlog; foreign ones are ignored.
        frame = {"event_name": "subscribe", "data": {"channels": [uuid, foreign], "last": 0}}
        await ws.send(json.dumps(frame))
        backlog = await receive(ws)
        assert foreign not in [n["channel"] for n in backlog]
        on_session = [n["message"]["type"] for n in backlog if n["channel"] == uuid]
        assert on_session == ["message", "typing"]
        assert not {n["id"] for n in backlog} & {note["id"], typing["id"]}  # not sent twice
        await say(client, lucid, foreign, "secret")
        await say(client, lucid, uuid, "again")
        batch: list[dict[str, Any]] = []
        while len(batch) < 2:
            batch += await receive(ws)
        assert {json.dumps(n["channel"]) for n in batch} == {
            json.dumps(uuid),
            json.dumps(own(oneiric)),
        }
        assert {n["message"]["message"] for n in batch} == {"again"}
    async with connect(f"{live}/websocket?session_id={precise.sid}") as ws:
        await ws.send(json.dumps({"event_name": "update_presence", "data": {"im_presence": True}}))
        await say(client, lucid, foreign, "to precise")
        [note] = await receive(ws)
        assert note["message"]["message"] == "to precise"


# --- Redis pub/sub between two workers' hubs ------------------------------------------------


async def test_redis_carries_notifications_between_workers(
    ctx: AppContext, settings: Settings, trio: list[Person]
) -> None:
    url = os.environ.get("UNDERSTUDY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    probe = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        probe.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {url}: {exc}")
    finally:
        probe.close()
    shared = AppContext.from_settings(settings.model_copy(update={"redis_url": url}))
    workers = [create_app(ctx=shared), create_app(ctx=shared)]  # two hubs, as two processes
    hubs = [chat_bus.hub_for(w) for w in workers]
    assert [h.kind for h in hubs] == ["redis", "redis"]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=w), base_url="http://testserver")
        for w in workers
    ]
    try:
        lucid, oneiric, _ = trio
        uuid = await session_with(clients[0], lucid, oneiric)
        seen = await call(clients[1], oneiric, POLL, last=0)
        last = max(n["id"] for n in seen)
        waiting = asyncio.ensure_future(call(clients[1], oneiric, POLL, last=last))
        await until(lambda: hubs[1].connected[oneiric.uid] > 0)
        posted = await say(clients[0], lucid, uuid, "over redis")
        got = await waiting
        assert [n["message"]["id"] for n in got] == [posted["message_id"]]
    finally:
        for client in clients:
            await client.aclose()
        for hub in hubs:
            await hub.stop()
        shared.close()


async def test_websocket_stops_a_session_channel_when_its_member_leaves(
    live: str, client: httpx.AsyncClient, trio: list[Person]
) -> None:
    lucid, oneiric, precise = trio
    news = await make_group(client, "News", [lucid.login, oneiric.login, precise.login])
    path = f"{API}/get_or_create_session_group"
    uuid = (await call(client, lucid, path, group=news))["uuid"]
    async with connect(f"{live}/websocket?session_id={oneiric.sid}") as ws:
        frame = {"event_name": "subscribe", "data": {"channels": [uuid], "last": 0}}
        await ws.send(json.dumps(frame))
        backlog = await receive(ws)  # the group session made for oneiric: subscribed now
        assert [n["message"]["uuid"] for n in backlog] == [uuid]
        await say(client, lucid, uuid, "first")
        got: list[dict[str, Any]] = []
        while len(got) < 2:  # on the session's channel and oneiric's own
            got += await receive(ws)
        assert {n["message"]["message"] for n in got} == {"first"}
        await make_group(client, "News", [lucid.login, precise.login])  # oneiric leaves
        await say(client, lucid, uuid, "after")
        await say(client, lucid, await session_with(client, lucid, oneiric), "direct")
        seen: list[Any] = []
        while "direct" not in seen:
            seen += [n["message"].get("message") for n in await receive(ws)]
        assert "after" not in seen  # oneiric left the group: its channel was dropped
