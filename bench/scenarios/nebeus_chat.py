"""nebeus-chat: real-time chat delivery with many idle WebSocket clients.

Two ways to run it:

* `python -m bench nebeus_chat`: the request/response harness drives `POST /im_chat/post`
  (throughput and latency of posting, against the Starlette ceiling);
* `python -m bench.scenarios.nebeus_chat [--idle 1000] [--rate 20] [--duration 30]`: the
  delivery driver. It seeds users straight into a fresh database, starts `understudy serve`
  (one worker by default), connects `--idle` WebSocket clients that only listen, plus one
  receiving socket per sender/receiver pair, then posts at a steady rate and measures
  post-to-delivery time (from just before the POST is sent to the receiver's frame).
  Results go to `bench/results/nebeus-chat.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from . import Live, Request, Scenario

PASSWORD = "bench12345"
RESULTS = Path(__file__).resolve().parent.parent / "results" / "nebeus-chat.json"


def _rpc(client: httpx.Client, path: str, params: dict[str, Any], sid: str | None = None) -> Any:
    headers = {"X-Openerp-Session-Id": sid} if sid else {}
    body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    return client.post(path, json=body, headers=headers).json()["result"]


def _setup(live: Live) -> dict[str, Any]:
    """Two users and their session, made over the API."""
    with live.client() as client:
        country = _rpc(client, "/get_countries/1.0/json", {})[0]["id"]
        sids = []
        for login in ("bench-a@example.com", "bench-b@example.com"):
            _rpc(
                client,
                "/signup/1.0/json",
                {
                    "login": login,
                    "name": "Bench",
                    "surname": login[6],
                    "password": PASSWORD,
                    "confirm_password": PASSWORD,
                    "country": country,
                },
            )
            signed = _rpc(client, "/signin/1.0/json", {"login": login, "password": PASSWORD})
            sids.append((signed["session_id"], signed["uid"]))
        info = _rpc(
            client, "/im_chat/api/get_or_create_session", {"user_to": sids[1][1]}, sids[0][0]
        )
    return {"sid": sids[0][0], "uuid": info["uuid"]}


def _requests(context: dict[str, Any]) -> list[Request]:
    params = {"uuid": context["uuid"], "message_type": "message", "message_content": "ping"}
    return [
        Request(
            "POST",
            "/im_chat/post",
            headers={"X-Openerp-Session-Id": context["sid"]},
            json={"jsonrpc": "2.0", "method": "call", "params": params, "id": 1},
            name="post",
        )
    ]


SCENARIO = Scenario(
    name="nebeus-chat",
    description="POST /im_chat/post (the delivery driver: python -m bench.scenarios.nebeus_chat)",
    requests=_requests,
    services=("nebeus",),
    setup=_setup,
    mutates=True,
)


# --- the delivery driver ---------------------------------------------------------------------


def seed(url: str, *, idle: int, pairs: int) -> dict[str, Any]:
    """Migrate, then add users with live sessions (idle listeners and sender/receiver pairs)."""
    from understudy.config import Settings
    from understudy.context import AppContext
    from understudy.control.reset import wipe_and_seed
    from understudy.core import migrate
    from understudy.nebeus import chat, identity
    from understudy.nebeus.models import Country, WebSession
    from understudy.services import load_all

    migrate.upgrade(url)
    ctx = AppContext.from_settings(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    wipe_and_seed(ctx, load_all())
    real_hash = identity.hash_password
    identity.hash_password = lambda password: "bench-users-never-sign-in"  # type: ignore[assignment]
    try:
        with ctx.db.write() as s:
            now = ctx.now(s)
            country = s.query(Country.id).filter(Country.code == "ES").scalar()

            def user(n: int) -> tuple[int, str]:
                params = {
                    "login": f"user{n}@bench.example",
                    "name": "User",
                    "surname": str(n),
                    "password": PASSWORD,
                    "confirm_password": PASSWORD,
                    "country": country,
                }
                made = identity.signup(s, params=params, now=now)
                sid = secrets.token_hex(20)
                s.add(WebSession(id=sid, user_id=made.id, created_at=now, last_seen=now))
                return made.id, sid

            idle_sids = [user(n)[1] for n in range(idle)]
            pair_list = []
            for n in range(pairs):
                sender, sender_sid = user(idle + 2 * n)
                receiver, receiver_sid = user(idle + 2 * n + 1)
                session, _ = chat.get_or_create_session(
                    s, user_id=sender, user_to=receiver, doc=None, now=now
                )
                pair_list.append({"uuid": session.uuid, "sender": sender_sid, "to": receiver_sid})
    finally:
        identity.hash_password = real_hash  # type: ignore[assignment]
        ctx.close()
    return {"idle": idle_sids, "pairs": pair_list}


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def drive(
    base: str, people: dict[str, Any], *, rate: float, duration: float
) -> dict[str, Any]:
    """Connect everyone, post at `rate` per second for `duration` s, measure delivery."""
    from websockets.asyncio.client import connect

    ws_base = base.replace("http://", "ws://")
    idle = []
    for start in range(0, len(people["idle"]), 100):
        batch = people["idle"][start : start + 100]
        idle += await asyncio.gather(
            *(connect(f"{ws_base}/websocket?session_id={sid}") for sid in batch)
        )
    sent: dict[str, float] = {}
    delivered: dict[str, float] = {}
    idle_frames = 0

    async def listen(ws: Any) -> None:
        async for frame in ws:
            now = time.perf_counter()
            for note in json.loads(frame):
                text = note["message"].get("message")
                if isinstance(text, str) and text in sent and text not in delivered:
                    delivered[text] = now

    receivers = [
        await connect(f"{ws_base}/websocket?session_id={p['to']}") for p in people["pairs"]
    ]
    tasks = [asyncio.ensure_future(listen(ws)) for ws in receivers]

    async def count_idle(ws: Any) -> None:
        nonlocal idle_frames
        async for _ in ws:
            idle_frames += 1

    tasks += [asyncio.ensure_future(count_idle(ws)) for ws in idle]
    post_times: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def post(n: int) -> None:
            nonlocal errors
            pair = people["pairs"][n % len(people["pairs"])]
            token = f"m{n}-{secrets.token_hex(4)}"
            body = {
                "jsonrpc": "2.0",
                "method": "call",
                "params": {
                    "uuid": pair["uuid"],
                    "message_type": "message",
                    "message_content": token,
                },
                "id": n,
            }
            started = time.perf_counter()
            sent[token] = started
            r = await client.post(
                "/im_chat/post", json=body, headers={"X-Openerp-Session-Id": pair["sender"]}
            )
            post_times.append(time.perf_counter() - started)
            if r.status_code != 200 or not r.json().get("result", {}).get("message_id"):
                errors += 1

        posts = []
        begin = time.perf_counter()
        total = int(rate * duration)
        for n in range(total):
            await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
            posts.append(asyncio.ensure_future(post(n)))
        await asyncio.gather(*posts)
    await asyncio.sleep(2)  # stragglers
    for task in tasks:
        task.cancel()
    for ws in idle + receivers:
        await ws.close()
    latencies = [(delivered[t] - sent[t]) * 1000 for t in sent if t in delivered]
    ms = [t * 1000 for t in post_times]
    return {
        "messages": len(sent),
        "delivered": len(latencies),
        "post_errors": errors,
        "frames_to_idle_clients": idle_frames,
        "delivery_ms": {
            "p50": round(percentile(latencies, 0.50), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "max": round(max(latencies), 2),
        },
        "post_ms": {"p50": round(percentile(ms, 0.50), 2), "p99": round(percentile(ms, 0.99), 2)},
    }


def main(argv: list[str] | None = None) -> int:
    """Run the delivery driver and write bench/results/nebeus-chat.json."""
    from bench.report import git_info, machine_info
    from bench.server import ServerProcess, free_port

    parser = argparse.ArgumentParser(prog="python -m bench.scenarios.nebeus_chat")
    parser.add_argument("--idle", type=int, default=1000, help="idle WebSocket clients")
    parser.add_argument("--pairs", type=int, default=20, help="sender/receiver pairs")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of posting")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    parser.add_argument("--note", default="", help="a remark stored with the results")
    args = parser.parse_args(argv)
    machine = machine_info() | {"loadavg_before_run": list(os.getloadavg())}
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/chat.db"
        print(f"bench: seeding {args.idle} idle users and {args.pairs} pairs…", file=sys.stderr)
        people = seed(url, idle=args.idle, pairs=args.pairs)
        port = free_port()
        command = Path(sys.executable).parent / "understudy"
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERSTUDY_")}
        argv_ = [
            str(command),
            "serve",
            "--port",
            str(port),
            "--db",
            url,
            "--workers",
            str(args.workers),
            "--services",
            "nebeus",
        ]
        server = ServerProcess("understudy", argv_, env, port, Path(tmp))
        server.start()
        try:
            server.wait_ready(
                lambda: httpx.get(f"{server.base_url}/healthz").status_code == 200, timeout_s=120
            )
            print("bench: connecting and posting…", file=sys.stderr)
            figures = asyncio.run(
                drive(server.base_url, people, rate=args.rate, duration=args.duration)
            )
        finally:
            server.stop()
        memory = server.memory_report()
    result = {
        "scenario": "nebeus-chat",
        "description": "post-to-delivery over WebSocket with idle clients connected",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_info(),
        "machine": machine,
        "parameters": {
            "idle_clients": args.idle,
            "pairs": args.pairs,
            "rate_per_s": args.rate,
            "duration_s": args.duration,
            "workers": args.workers,
            "db": "sqlite (fresh temp file)" if not args.db else url.split("://")[0],
        },
        "results": figures | {"server_memory": memory},
        "note": args.note,
    }
    print(json.dumps(result["results"], indent=2))
    if not args.no_save:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
