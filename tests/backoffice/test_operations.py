"""Operator calls: plan purchases for a member, cash-outs requested and resolved once."""

from __future__ import annotations

import httpx

from tests.backoffice.conftest import assert_ledger_sound, create, member_id
from tests.conftest import ADMIN
from understudy.context import AppContext

BASE = "/_understudy/backoffice"


async def post(client: httpx.AsyncClient, path: str, body: dict[str, object]) -> httpx.Response:
    return await client.post(f"{BASE}/{path}", json=body, headers=ADMIN)


async def rows(client: httpx.AsyncClient, auth: dict[str, str], user: int, wallet: int) -> list:
    r = await client.get(f"/api/v1/wallets/{wallet}?user_id={user}&page=1", headers=auth)
    return [(x["amount"], x["balance"], x["description"]) for x in r.json()["list"]]


async def test_upgrade_a_plan(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await create(client, auth, user_name="upgrader")
    r = await post(client, "purchases", {"username": "upgrader", "plan": "Entrepreneur"})
    assert r.status_code == 400 and list(r.json()) == ["error"]
    await post(
        client, "credit", {"username": "admin", "wallet_id": 3, "amount": 60, "description": "ABCD"}
    )
    r = await post(client, "purchases", {"username": "upgrader", "plan": "Entrepreneur"})
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    user = member_id(ctx, "upgrader")
    assert (await client.get(f"/api/v1/users/{user}", headers=auth)).json()["matrix_on"] is True
    products = (await client.get(f"/api/v1/products/{user}", headers=auth)).json()["plans"]
    assert [(p["plan"], p["price"]) for p in products] == [
        ("Free Plan", 0.0),
        ("Entrepreneur", 50.0),
    ]
    assert await rows(client, auth, 1, 3) == [
        ("0.0", "0.0", "Sponsored Plan - Free Plan"),
        ("60.0", "60.0", "ABCD"),
        ("-50.0", "10.0", "Sponsored Plan - Entrepreneur"),
    ]
    for bad in ({"username": "ghost", "plan": "Free Plan"}, {"username": "admin", "plan": "X"}):
        assert (await post(client, "purchases", bad)).status_code == 400
    assert_ledger_sound(ctx)


async def test_cashout_approved_or_rejected_once(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await post(
        client,
        "credit",
        {"username": "admin", "wallet_id": 4, "amount": "100", "description": "ABCD"},
    )
    request = {
        "username": "admin",
        "wallet_id": 4,
        "currency_id": 470,
        "amount": "30",
        "address": "TXYZ",
    }
    first = await post(client, "cashouts", request)
    second = await post(client, "cashouts", request)
    assert first.status_code == 200 and second.status_code == 200
    one, two = first.json()["id"], second.json()["id"]
    assert (await post(client, f"cashouts/{one}", {"status": "approved"})).status_code == 200
    assert (await post(client, f"cashouts/{two}", {"status": "rejected"})).status_code == 200
    again = await post(client, f"cashouts/{two}", {"status": "approved"})
    assert again.status_code == 400
    assert await rows(client, auth, 1, 4) == [
        ("100.0", "100.0", "ABCD"),
        ("-30.0", "70.0", "Cashout - USDT"),
        ("-30.0", "40.0", "Cashout - USDT"),
        ("30.0", "70.0", "Cashout Rejected - USDT"),
    ]
    refused = [
        request | {"amount": "9.99"},
        request | {"amount": "71"},
        request | {"wallet_id": 1},
        request | {"currency_id": 1},
        request | {"address": " "},
        request | {"username": "ghost"},
    ]
    for body in refused:
        r = await post(client, "cashouts", body)
        assert r.status_code == 400, body
    assert_ledger_sound(ctx)
