"""Chat across worker processes: `understudy serve --workers 2`, WebSocket and long-polling."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.live_server import running_server
from tests.nebeus.helpers import PASSWORD

WORKER = "x-understudy-worker"


@pytest.fixture
def base(tmp_path: Path, server_database_url: str) -> Iterator[str]:
    """`understudy serve --workers 2` on a free port (host:port)."""
    with running_server(server_database_url, tmp_path / "server.log", workers=2) as url:
        yield url.removeprefix("http://")


async def rpc(base: str, path: str, params: dict[str, Any], sid: str | None = None) -> Any:
    """One JSON-RPC call on a fresh connection; returns (result, serving worker)."""
    headers = {"X-Openerp-Session-Id": sid} if sid else {}
    body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    async with httpx.AsyncClient(base_url=f"http://{base}", timeout=60) as client:
        r = await client.post(path, json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["result"], r.headers.get(WORKER)


async def user(base: str, login: str, name: str) -> tuple[str, int]:
    """Sign up and sign in; (session id, uid)."""
    signup = {
        "login": login,
        "name": name,
        "surname": "Tester",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "country": 1,
    }
    assert (await rpc(base, "/signup/1.0/json", signup))[0] == {"status": "success"}
    result, _ = await rpc(base, "/signin/1.0/json", {"login": login, "password": PASSWORD})
    return result["session_id"], result["uid"]


@contextlib.asynccontextmanager
async def sockets_on_both_workers(base: str, sid: str) -> AsyncIterator[list[ClientConnection]]:
    """One WebSocket per worker for this session (connecting until both workers answered)."""
    kept: dict[str, ClientConnection] = {}
    extra: list[ClientConnection] = []
    try:
        for _ in range(60):
            ws = await connect(f"ws://{base}/websocket?session_id={sid}")
            assert ws.response is not None
            worker = ws.response.headers[WORKER]
            if worker in kept:
                extra.append(ws)
            else:
                kept[worker] = ws
            if len(kept) == 2:
                break
        assert len(kept) == 2, "every connection went to one worker"
        for ws in extra:
            await ws.close()
        yield list(kept.values())
    finally:
        for ws in kept.values():
            await ws.close()


async def next_message(ws: ClientConnection, text: str) -> dict[str, Any]:
    """The notification carrying this chat message (skipping presence and session news)."""
    while True:
        for note in json.loads(await asyncio.wait_for(ws.recv(), timeout=30)):
            if note["message"].get("message") == text:
                return note


@pytest.mark.slow
async def test_two_users_on_different_workers_chat_in_real_time(base: str) -> None:
    lucid, lucid_id = await user(base, "lucid@example.com", "Lucid")
    oneiric, oneiric_id = await user(base, "oneiric@example.com", "Oneiric")
    path = "/im_chat/api/get_or_create_session"
    info, _ = await rpc(base, path, {"user_to": oneiric_id}, lucid)
    uuid = info["uuid"]
    post = "/im_chat/post"
    async with (
        sockets_on_both_workers(base, oneiric) as oneiric_ws,
        sockets_on_both_workers(base, lucid) as lucid_ws,
    ):
        # A post served by one worker reaches sockets on both: one of them is cross-worker.
        for n in range(3):
            sender, sender_id, receivers = (
                (lucid, lucid_id, oneiric_ws) if n % 2 == 0 else (oneiric, oneiric_id, lucid_ws)
            )
            text = f"ping {n}"
            params = {"uuid": uuid, "message_type": "message", "message_content": text}
            posted, _ = await rpc(base, post, params, sender)
            for ws in receivers:
                note = await next_message(ws, text)
                assert note["message"]["id"] == posted["message_id"]
                assert note["message"]["from_id"][0] == sender_id
    # Long-polling: waiting polls on both workers wake up on a post.
    seen, _ = await rpc(base, "/longpolling/poll", {"last": 0, "channels": [uuid]}, oneiric)
    last = max(n["id"] for n in seen)
    workers: set[str] = set()
    for round_ in range(10):
        polls = [
            asyncio.ensure_future(
                rpc(base, "/longpolling/poll", {"last": last, "channels": [uuid]}, oneiric)
            )
            for _ in range(4)
        ]
        text = f"poll {round_}"
        params = {"uuid": uuid, "message_type": "message", "message_content": text}
        posted, _ = await rpc(base, post, params, lucid)
        for result, worker in await asyncio.gather(*polls):
            assert posted["message_id"] in [n["message"]["id"] for n in result]
            workers.add(worker)
            last = max(last, *(n["id"] for n in result))
        if len(workers) == 2:
            break
    assert len(workers) == 2, "every poll went to one worker"
