"""Reuse of a finished number (§4.2) and the user's max prices (#4–6, §4.1)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fivesim.helpers import (
    advance,
    assert_error,
    assert_invariants,
    bearer,
    buy,
    new_user,
    sms,
    stock,
)
from understudy.context import AppContext


async def _finished(client: httpx.AsyncClient, token: str, **params: str) -> dict[str, Any]:
    order = (await buy(client, token, **params)).json()
    await sms(client, order["id"], "code 1234")
    finished = await client.get(f"/v1/user/finish/{order['id']}", headers=bearer(token))
    assert finished.status_code == 200
    return order


async def _reuse(client: httpx.AsyncClient, token: str, number: str, alias: bool = False):
    path = "buy/reuse" if alias else "reuse"
    return await client.get(f"/v1/user/{path}/vkontakte/{number}", headers=bearer(token))


async def test_reuse_buys_the_same_number_again(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await stock(client, count=1)
    _, token = await new_user(client, balance=100)
    order = await _finished(client, token, reuse="1")
    number = order["phone"][1:]
    again = await _reuse(client, token, number)
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["phone"], body["status"], body["sms"]) == (order["phone"], "PENDING", None)
    assert body["id"] != order["id"]
    assert_error(await _reuse(client, token, number, alias=True), "no free phones")
    assert_invariants(ctx)


async def test_reuse_refusals(client: httpx.AsyncClient) -> None:
    await stock(client, count=2)
    _, token = await new_user(client, balance=100)
    plain_order = await _finished(client, token)
    assert_error(await _reuse(client, token, plain_order["phone"][1:]), "reuse false")
    assert_error(await _reuse(client, token, "79000000000"), "reuse not possible")
    assert_error(await _reuse(client, token, "12"), "reuse not possible")
    reusable = await _finished(client, token, reuse="1")
    await advance(client, 31 * 86400)
    assert_error(await _reuse(client, token, reusable["phone"][1:]), "reuse expired")
    missing = await client.get("/v1/user/reuse/nothing/79000000000", headers=bearer(token))
    assert_error(missing, "no product")


async def test_max_prices_crud(client: httpx.AsyncClient) -> None:
    _, token = await new_user(client)
    url, auth = "/v1/user/max-prices", bearer(token)
    assert (await client.get(url, headers=auth)).json() == []
    created = await client.post(url, json={"product_name": "telegram", "price": 10}, headers=auth)
    assert (created.status_code, created.json()) == (200, {})
    assert created.headers["content-type"] == "application/json"
    updated = await client.post(
        url, data={"product_name": "telegram", "price": "12.5"}, headers=auth
    )
    assert updated.status_code == 200
    rows = (await client.get(url, headers=auth)).json()
    assert [(r["product"], r["price"]) for r in rows] == [("telegram", 12.5)]
    assert list(rows[0]) == ["id", "product", "price", "created_at"]
    gone = await client.request("DELETE", url, json={"product_name": "telegram"}, headers=auth)
    assert (gone.status_code, gone.json()) == (200, {})
    assert (await client.get(url, headers=auth)).json() == []


async def test_max_prices_refusals(client: httpx.AsyncClient) -> None:
    _, token = await new_user(client)
    url, auth = "/v1/user/max-prices", bearer(token)
    assert_error(await client.post(url, json={"price": 1}, headers=auth), "product_name is empty")
    bad = await client.post(url, json={"product_name": "x", "price": "cheap"}, headers=auth)
    assert_error(bad, "any error")
    missing = await client.request("DELETE", url, json={"product_name": "x"}, headers=auth)
    assert_error(missing, "record not found")
    no_type = await client.post(url, content=b'{"product_name":"x","price":"3"}', headers=auth)
    assert no_type.status_code == 200
    assert (await client.post(url, json={"product_name": "x", "price": 1})).status_code == 401


async def test_stored_max_price_caps_any_operator_buys(client: httpx.AsyncClient) -> None:
    await stock(client, "russia", "beeline", "telegram", count=1, price=10)
    _, token = await new_user(client, balance=100)
    auth = bearer(token)
    await client.post(
        "/v1/user/max-prices", json={"product_name": "telegram", "price": 9}, headers=auth
    )
    assert_error(await buy(client, token, "russia/any/telegram"), "no free phones")
    assert (await buy(client, token, "russia/any/telegram", maxPrice="10")).status_code == 200
