"""nebeus-transfer: the internal-transfer cycle of a signed-in nebeus user.

Setup signs up a sender and a recipient, funds the sender and signs in once (the session id
goes in the `X-Openerp-Session-Id` header of every request). It then runs CONFIRMED_CYCLES
complete confirmed transfers closed-loop (ask: code e-mailed; read the code from the sandbox
outbox; confirm: money moves) and prints their rate to stderr: a confirmation carries a fresh
code each time, which the load generator (identical bytes per request) cannot send.

The measured load is the replayable part of the cycle: asking for a transfer (validation, funds
check, a new hashed code and its e-mail: one write transaction), the wallet listing (read-only)
and the statement (read-only).
"""

from __future__ import annotations

import re
import sys
import time
from typing import Any

import httpx

from . import Live, Request, Scenario

PASSWORD = "bench1234"
SENDER, RECIPIENT = "sender@bench.example", "recipient@bench.example"
CONFIRMED_CYCLES = 200


def _rpc(client: httpx.Client, path: str, params: dict[str, Any], sid: str | None = None) -> Any:
    headers = {"X-Openerp-Session-Id": sid} if sid else {}
    body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    answer = client.post(path, json=body, headers=headers).json()
    if "result" not in answer:
        raise RuntimeError(f"{path}: {answer}")
    return answer["result"]


def _last_code(client: httpx.Client, live: Live) -> str:
    auth = {"Authorization": f"Bearer {live.admin_token}"}
    messages = client.get("/_understudy/mail", params={"to": SENDER}, headers=auth).json()
    return re.findall(r"\b\d{6}\b", messages["messages"][-1]["body"])[0]


def _confirmed_transfer(client: httpx.Client, live: Live, sid: str, params: dict[str, Any]) -> None:
    asked = _rpc(client, "/accounts/transfer/1.0/json", params, sid)
    code = _last_code(client, live)
    done = _rpc(
        client,
        "/accounts/transfer/1.0/json",
        params | {"code_id": asked["code_id"], "code": code},
        sid,
    )
    if done != {"status": "success"}:
        raise RuntimeError(f"confirmed transfer failed: {done}")


def setup(live: Live) -> dict[str, Any]:
    """Two users, a funded sender signed in once, and the confirmed cycle timed closed-loop."""
    live.control("POST", "/_understudy/reset")
    with live.client() as client:
        spain = next(
            c["id"] for c in _rpc(client, "/get_countries/1.0/json", {}) if c["code"] == "ES"
        )
        for login in (SENDER, RECIPIENT):
            signup = {
                "login": login,
                "name": "Bench",
                "surname": "User",
                "password": PASSWORD,
                "confirm_password": PASSWORD,
                "country": spain,
            }
            if _rpc(client, "/signup/1.0/json", signup) != {"status": "success"}:
                raise RuntimeError(f"signup of {login} failed")
        live.control(
            "POST",
            "/_understudy/nebeus/deposit",
            {"login": SENDER, "currency": "EUR", "amount": 1_000_000},
        )
        sid = _rpc(client, "/signin/1.0/json", {"login": SENDER, "password": PASSWORD})[
            "session_id"
        ]
        client.cookies.clear()
        eur = next(
            a["id"]
            for a in _rpc(client, "/accounts/1.0/json", {}, sid)
            if a["currency"]["name"] == "EUR"
        )
        params = {"debit_from": eur, "recipient_login": RECIPIENT, "sum": 1.25}
        started = time.perf_counter()
        for _ in range(CONFIRMED_CYCLES):
            _confirmed_transfer(client, live, sid, params)
        elapsed = time.perf_counter() - started
    print(
        f"bench: {CONFIRMED_CYCLES} confirmed transfers (ask + read code + confirm, one client)"
        f" in {elapsed:.2f}s: {CONFIRMED_CYCLES / elapsed:.1f} transfers/s,"
        f" {elapsed / CONFIRMED_CYCLES * 1000:.1f} ms per cycle",
        file=sys.stderr,
    )
    return {"sid": sid, "params": params}


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
