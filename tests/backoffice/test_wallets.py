"""Wallets: operator credits, the sponsor paying for plans, paging and validation."""

from __future__ import annotations

import re

import httpx

from tests.backoffice.conftest import assert_ledger_sound, create, member_id
from tests.conftest import ADMIN
from understudy.context import AppContext

DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(-0[78]:00)")


async def credit(
    client: httpx.AsyncClient, username: str, wallet: int, amount: str, description: str = "ABCD"
) -> httpx.Response:
    return await client.post(
        "/_understudy/backoffice/credit",
        json={
            "username": username,
            "wallet_id": wallet,
            "amount": amount,
            "description": description,
        },
        headers=ADMIN,
    )


async def test_seed_wallet_example(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    assert (await credit(client, "admin", 3, "10000")).json() == {"status": "ok"}
    await create(client, auth, user_name="buyer", plan="Entrepreneur")
    await create(client, auth, user_name="free")
    r = await client.get("/api/v1/wallets/3?user_id=1&page=1", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["list", "total_pages", "current_page"]
    rows = [(x["amount"], x["balance"], x["description"]) for x in body["list"]]
    assert rows == [
        ("10000.0", "10000.0", "ABCD"),
        ("-50.0", "9950.0", "Sponsored Plan - Entrepreneur"),
        ("0.0", "9950.0", "Sponsored Plan - Free Plan"),
    ]
    assert all(list(x) == ["id", "amount", "balance", "description", "date"] for x in body["list"])
    assert all(DATE.fullmatch(x["date"]) for x in body["list"])
    assert (body["total_pages"], body["current_page"]) == (1, 1)
    r = await client.get(f"/api/v1/users/{member_id(ctx, 'buyer')}", headers=auth)
    assert r.json()["matrix_on"] is True
    assert_ledger_sound(ctx)


async def test_commissions_direct_and_unilevel(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await credit(client, "admin", 3, "100")
    await create(client, auth, user_name="leader", plan="Entrepreneur")
    await credit(client, "leader", 3, "100")
    await create(client, auth, user_name="recruit", sponsor="leader", plan="Entrepreneur")
    leader = member_id(ctx, "leader")
    r = await client.get(f"/api/v1/wallets/5?user_id={leader}&page=1", headers=auth)
    assert [(x["amount"], x["balance"], x["description"]) for x in r.json()["list"]] == [
        ("5.0", "5.0", "Direct Bonus - recruit"),
        ("2.5", "7.5", "Unilevel Bonus Level 1 - recruit"),
    ]
    r = await client.get(f"/api/v1/wallets/1?user_id={leader}&page=1", headers=auth)
    assert r.json()["list"][-1]["balance"] == "7.5"
    # admin holds the Free Plan: its zero commissions are not written.
    r = await client.get("/api/v1/wallets/5?user_id=1&page=1", headers=auth)
    assert r.json() == {"list": [], "total_pages": 0, "current_page": 1}
    assert_ledger_sound(ctx)


async def test_paging(client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]) -> None:
    for i in range(31):
        await credit(client, "admin", 2, f"{i + 1}.25", f"row {i}")
    url = "/api/v1/wallets/2"
    first = (await client.get(url, params={"user_id": 1, "page": "0"}, headers=auth)).json()
    assert (len(first["list"]), first["total_pages"], first["current_page"]) == (30, 2, 1)
    second = (await client.get(url, params={"user_id": 1, "page": "2.9"}, headers=auth)).json()
    assert [x["description"] for x in second["list"]] == ["row 30"]
    assert second["list"][0]["balance"] == "503.75"
    assert second["current_page"] == 2
    past = (await client.get(url, params={"user_id": 1, "page": "7"}, headers=auth)).json()
    assert past == {"list": [], "total_pages": 2, "current_page": 7}
    for user, wallet in (("999", "2"), ("1", "9"), ("x", "2")):
        r = await client.get(
            f"/api/v1/wallets/{wallet}", params={"user_id": user, "page": 1}, headers=auth
        )
        assert r.json() == {"list": [], "total_pages": 0, "current_page": 1}
    assert_ledger_sound(ctx)


async def test_wallet_validation_is_422(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/wallets/3", headers=auth)
    assert r.status_code == 422
    assert r.content == (
        b'{"errors":{"user_id":["can\'t be blank"],"page":["can\'t be blank","is not a number"]}}'
    )
    r = await client.get("/api/v1/wallets/3?user_id=1&page=abc", headers=auth)
    assert (r.status_code, r.json()) == (422, {"errors": {"page": ["is not a number"]}})


async def test_operator_debit_never_goes_below_zero(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    assert (await credit(client, "admin", 4, "5")).status_code == 200
    r = await credit(client, "admin", 4, "-5.01")
    assert r.status_code == 400 and list(r.json()) == ["error"]
    assert (await credit(client, "admin", 4, "-5")).status_code == 200
    for bad in ({"wallet_id": 6}, {"amount": "1.001"}, {"username": "ghost"}):
        body = {"username": "admin", "wallet_id": 4, "amount": "1", "description": "x"} | bad
        r = await client.post("/_understudy/backoffice/credit", json=body, headers=ADMIN)
        assert r.status_code == 400, bad
    assert_ledger_sound(ctx)
