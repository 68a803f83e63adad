"""fivesim's sandbox control calls: users, stock and SMS, with their refusals."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN
from tests.fivesim.helpers import CONTROL, assert_invariants, bearer, buy, new_user, stock
from understudy.context import AppContext


async def test_user_ids_count_up_and_tokens_differ(client: httpx.AsyncClient) -> None:
    first = await new_user(client, "first.user@example.com")
    second = await new_user(client, "second.user@example.com")
    assert (first[0], second[0]) == (1, 2)
    assert first[1] != second[1]


async def test_initial_balance_is_a_charge_from_admin(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    _, token = await new_user(client, balance=100.5)
    body = (await client.get("/v1/user/payments", headers=bearer(token))).json()
    assert [
        (r["TypeName"], r["ProviderName"], r["Amount"], r["Balance"]) for r in body["Data"]
    ] == [("charge", "admin", 100.5, 100.5)]
    assert_invariants(ctx)


async def test_user_refusals(client: httpx.AsyncClient) -> None:
    await new_user(client, "taken@example.com")
    cases = [
        ({"email": "taken@example.com"}, "email already exists"),
        ({"email": "demo@localhost"}, "email is not a valid address"),
        ({"email": "a@b.test"}, "email is not a valid address"),
        ({"email": "ok@example.com", "balance": -1}, "balance out of range"),
        ({"email": "ok@example.com", "balance": 1.234}, "balance has more than 2 decimals"),
        ({"email": "ok@example.com", "vendor": ""}, "vendor must be true or a name"),
    ]
    for body, error in cases:
        answer = await client.post(f"{CONTROL}/users", json=body, headers=ADMIN)
        assert (answer.status_code, answer.json()) == (400, {"error": error}), body
    answer = await client.post(
        f"{CONTROL}/users", json={"email": "ok@example.com", "rating": 97}, headers=ADMIN
    )
    assert answer.status_code == 400
    assert (
        await client.post(f"{CONTROL}/users", json={"email": "x@example.com"})
    ).status_code == 401


async def test_stock_refusals(client: httpx.AsyncClient) -> None:
    base = {"country": "russia", "operator": "beeline", "product": "vk", "count": 1, "price": 1}
    cases = [
        ({"country": "narnia"}, "unknown country"),
        ({"operator": "any"}, "operator must be a lowercase name other than any"),
        ({"product": "Big Name"}, "product must be a lowercase name other than any"),
        ({"price": 0}, "price out of range"),
    ]
    for change, error in cases:
        answer = await client.post(f"{CONTROL}/stock", json={**base, **change}, headers=ADMIN)
        assert (answer.status_code, answer.json()) == (400, {"error": error}), change


async def test_stock_upserts_price_and_tops_up_count(client: httpx.AsyncClient) -> None:
    await stock(client, count=2, price=21)
    await stock(client, count=1, price=30)  # already two free: nothing added, price changed
    body = (await client.get("/v1/guest/prices", params={"country": "russia"})).json()
    assert body["russia"]["vkontakte"]["beeline"] == {"cost": 30, "count": 2}
    await stock(client, count=5, price=30)
    body = (await client.get("/v1/guest/prices", params={"country": "russia"})).json()
    assert body["russia"]["vkontakte"]["beeline"]["count"] == 5


async def test_sms_refusals(client: httpx.AsyncClient) -> None:
    await stock(client)
    _, token = await new_user(client, balance=100)
    order = (await buy(client, token)).json()
    await client.get(f"/v1/user/cancel/{order['id']}", headers=bearer(token))
    for order_id in (order["id"], 999):
        answer = await client.post(
            f"{CONTROL}/sms",
            json={"order_id": order_id, "sender": "x", "text": "code 1234"},
            headers=ADMIN,
        )
        assert (answer.status_code, answer.json()) == (
            400,
            {"error": "no active order with that id"},
        )
    beyond = await client.post(
        f"{CONTROL}/sms", json={"order_id": 2**31, "sender": "x", "text": "1"}, headers=ADMIN
    )
    assert beyond.status_code == 400 and "order_id" in beyond.json()["error"]
