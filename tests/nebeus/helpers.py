"""Calling nebeus as a client does: JSON-RPC envelopes, signup and signin."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from understudy.context import AppContext
from understudy.core import ledger
from understudy.nebeus.models import Country

PASSWORD = "secret123"


def envelope(params: dict[str, Any] | None = None, rid: Any = None) -> dict[str, Any]:
    """A JSON-RPC call body."""
    return {"jsonrpc": "2.0", "method": "call", "params": params or {}, "id": rid}


async def rpc(
    client: httpx.AsyncClient,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    session: str | None = None,
) -> Any:
    """POST a call and return its `result` (asserting the envelope)."""
    headers = {"X-Openerp-Session-Id": session} if session else {}
    r = await client.post(path, json=envelope(params, 1), headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["jsonrpc", "id", "result"], body
    return body["result"]


def country_id(ctx: AppContext, code: str = "ES") -> int:
    """The id of a seeded country."""
    with ctx.db.read() as s:
        return s.scalars(select(Country.id).where(Country.code == code)).one()


def signup_params(ctx: AppContext, login: str, **extra: Any) -> dict[str, Any]:
    """Valid signup params for this login."""
    return {
        "login": login,
        "name": "User",
        "surname": "Anonymous",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "country": country_id(ctx),
    } | extra


async def new_user(client: httpx.AsyncClient, ctx: AppContext, login: str) -> str:
    """Sign up and sign in; returns the session id."""
    assert await rpc(client, "/signup/1.0/json", signup_params(ctx, login)) == {"status": "success"}
    result = await rpc(client, "/signin/1.0/json", {"login": login, "password": PASSWORD})
    client.cookies.clear()
    return str(result["session_id"])


def assert_ledger_sound(ctx: AppContext) -> None:
    """Balanced ledger and no negative user balance."""
    with ctx.db.read() as s:
        assert ledger.verify(s) == []
        negative = s.scalars(
            select(ledger.Account.key).where(
                ledger.Account.allow_negative.is_(False),
                ledger.Account.balance - ledger.Account.held < 0,
            )
        ).all()
        assert negative == []
