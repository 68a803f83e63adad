"""nebeus-transfer: the internal-transfer cycle of signed-in nebeus users.

Setup signs up CLIENTS senders and one recipient, funds the senders and signs each in once (the
session id goes in the `X-Openerp-Session-Id` header of every request). It then times complete
confirmed transfers (ask: code e-mailed; read the code from the sandbox outbox; confirm: money
moves), first with one client, then with every sender at once in its own thread, and writes the
figures to `bench/results/nebeus-transfer-confirmed.json`: a confirmation carries a fresh code
each time, which the load generator (identical bytes per request) cannot send.

The measured load is the replayable part of the cycle: asking for a transfer (validation, funds
check, a new hashed code and its e-mail: one write transaction), the wallet listing (read-only)
and the statement (read-only).

    BENCH_NEBEUS_TRANSFER_CLIENTS (default 8), BENCH_NEBEUS_TRANSFER_CYCLES (per client, 50)
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from . import Live, Request, Scenario

PASSWORD = "bench1234"
RECIPIENT = "recipient@bench.example"
RESULTS = Path(__file__).resolve().parent.parent / "results" / "nebeus-transfer-confirmed.json"


def _sender(index: int) -> str:
    return f"sender{index}@bench.example"


def _rpc(client: httpx.Client, path: str, params: dict[str, Any], sid: str | None = None) -> Any:
    headers = {"X-Openerp-Session-Id": sid} if sid else {}
    body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    answer = client.post(path, json=body, headers=headers).json()
    if "result" not in answer:
        raise RuntimeError(f"{path}: {answer}")
    return answer["result"]


def _last_code(client: httpx.Client, live: Live, login: str) -> str:
    auth = {"Authorization": f"Bearer {live.admin_token}"}
    messages = client.get("/_understudy/mail", params={"to": login}, headers=auth).json()
    return re.findall(r"\b\d{6}\b", messages["messages"][-1]["body"])[0]


def _confirmed_transfer(
    client: httpx.Client, live: Live, login: str, sid: str, params: dict[str, Any]
) -> None:
    asked = _rpc(client, "/accounts/transfer/1.0/json", params, sid)
    code = _last_code(client, live, login)
    done = _rpc(
        client,
        "/accounts/transfer/1.0/json",
        params | {"code_id": asked["code_id"], "code": code},
        sid,
    )
    if done != {"status": "success"}:
        raise RuntimeError(f"confirmed transfer failed: {done}")


def _signed_in_sender(live: Live, index: int, country: int) -> dict[str, Any]:
    """Sign up, fund and sign in one sender; its login, session id and transfer parameters."""
    login = _sender(index)
    with live.client() as client:
        signup = {
            "login": login,
            "name": "Bench",
            "surname": "User",
            "password": PASSWORD,
            "confirm_password": PASSWORD,
            "country": country,
        }
        if _rpc(client, "/signup/1.0/json", signup) != {"status": "success"}:
            raise RuntimeError(f"signup of {login} failed")
        live.control(
            "POST",
            "/_understudy/nebeus/deposit",
            {"login": login, "currency": "EUR", "amount": 1_000_000},
        )
        sid = _rpc(client, "/signin/1.0/json", {"login": login, "password": PASSWORD})["session_id"]
        client.cookies.clear()
        eur = next(
            a["id"]
            for a in _rpc(client, "/accounts/1.0/json", {}, sid)
            if a["currency"]["name"] == "EUR"
        )
    params = {"debit_from": eur, "recipient_login": RECIPIENT, "sum": 1.25}
    return {"login": login, "sid": sid, "params": params}


def _cycles(live: Live, sender: dict[str, Any], count: int) -> list[float]:
    """Seconds taken by each of `count` confirmed transfers of one sender, back to back."""
    took = []
    with live.client() as client:
        for _ in range(count):
            started = time.perf_counter()
            _confirmed_transfer(client, live, sender["login"], sender["sid"], sender["params"])
            took.append(time.perf_counter() - started)
    return took


def _figures(took: list[float], elapsed: float) -> dict[str, Any]:
    ordered = sorted(took)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "transfers": len(took),
        "transfers_per_s": round(len(took) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(took) * 1000, 2),
    }


def setup(live: Live) -> dict[str, Any]:
    """Senders signed in, and confirmed transfers timed with one client and with all at once."""
    clients = int(live.env.get("BENCH_NEBEUS_TRANSFER_CLIENTS", "8"))
    per_client = int(live.env.get("BENCH_NEBEUS_TRANSFER_CYCLES", "50"))
    live.control("POST", "/_understudy/reset")
    with live.client() as client:
        spain = next(
            c["id"] for c in _rpc(client, "/get_countries/1.0/json", {}) if c["code"] == "ES"
        )
        signup = {
            "login": RECIPIENT,
            "name": "Bench",
            "surname": "Recipient",
            "password": PASSWORD,
            "confirm_password": PASSWORD,
            "country": spain,
        }
        if _rpc(client, "/signup/1.0/json", signup) != {"status": "success"}:
            raise RuntimeError("signup of the recipient failed")
    senders = [_signed_in_sender(live, i, spain) for i in range(clients)]
    figures: dict[str, Any] = {"clients": clients, "cycles_per_client": per_client}
    figures["loadavg_before"] = os.getloadavg()
    started = time.perf_counter()
    took = _cycles(live, senders[0], per_client)
    figures["one_client"] = _figures(took, time.perf_counter() - started)
    figures["loadavg_concurrent"] = os.getloadavg()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        runs = list(pool.map(lambda s: _cycles(live, s, per_client), senders))
    figures[f"{clients}_clients"] = _figures(
        [t for run in runs for t in run], time.perf_counter() - started
    )
    figures["timestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    for label in ("one_client", f"{clients}_clients"):
        f = figures[label]
        print(
            f"bench: confirmed transfers, {label}: {f['transfers']} at {f['transfers_per_s']}/s,"
            f" p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms",
            file=sys.stderr,
        )
    return {"sid": senders[0]["sid"], "params": senders[0]["params"]}


def requests(ctx: dict[str, Any]) -> list[Request]:
    """Ask for a transfer (1), list wallets (2), read the statement (1)."""
    auth = {"X-Openerp-Session-Id": ctx["sid"]}

    def call(params: dict[str, Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}

    return [
        Request(
            "POST",
            "/accounts/transfer/1.0/json",
            headers=auth,
            json=call(ctx["params"]),
            name="transfer: ask (code e-mailed)",
        ),
        Request("POST", "/accounts/1.0/json", headers=auth, json=call({}), weight=2),
        Request(
            "POST",
            "/accounts/transactions/1.0/json",
            headers=auth,
            json=call({"limit": 10}),
            name="statement (10 lines)",
        ),
    ]


SCENARIO = Scenario(
    name="nebeus-transfer",
    description="nebeus transfer cycle: ask for a transfer (1) + wallets (2) + statement (1); "
    "setup times complete confirmed transfers closed-loop",
    services=["nebeus"],
    needs_admin=True,
    setup=setup,
    requests=requests,
    mutates=True,
)
