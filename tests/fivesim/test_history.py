"""GET /v1/user/orders and /v1/user/payments: golden shapes, paging, ordering, categories."""

from __future__ import annotations

import httpx

from tests.fivesim.helpers import bearer, buy, new_user, sms, stock


async def _history(client: httpx.AsyncClient, token: str, what: str, **params: str) -> dict:
    answer = await client.get(f"/v1/user/{what}", params=params, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    return answer.json()  # type: ignore[no-any-return]


async def test_orders_history_paging_and_order(client: httpx.AsyncClient) -> None:
    await stock(client, count=5)
    await stock(client, product="1day", count=1, price=80)
    _, token = await new_user(client, balance=200)
    ids = [(await buy(client, token)).json()["id"] for _ in range(3)]
    await buy(client, token, "russia/beeline/1day", category="hosting")
    body = await _history(client, token, "orders")
    assert list(body) == ["Data", "ProductNames", "Statuses", "Total"]
    assert (body["ProductNames"], body["Statuses"], body["Total"]) == ([], [], 3)
    assert [o["id"] for o in body["Data"]] == ids
    assert body["Data"][0]["sms"] == []
    page = await _history(
        client, token, "orders", category="activation", limit="2", offset="1", reverse="true"
    )
    assert ([o["id"] for o in page["Data"]], page["Total"]) == ([ids[1], ids[0]], 3)
    hosting = await _history(client, token, "orders", category="hosting")
    assert [o["product"] for o in hosting["Data"]] == ["1day"]
    empty = await _history(client, token, "orders", limit="", reverse="", order="")
    assert [o["id"] for o in empty["Data"]] == ids


async def test_orders_history_shows_sms(client: httpx.AsyncClient) -> None:
    await stock(client)
    _, token = await new_user(client, balance=100)
    order = (await buy(client, token)).json()
    await sms(client, order["id"], "code 4321")
    body = await _history(client, token, "orders")
    assert [m["code"] for m in body["Data"][0]["sms"]] == ["4321"]


async def test_payments_history(client: httpx.AsyncClient) -> None:
    await stock(client)
    _, token = await new_user(client, balance=100)
    order = (await buy(client, token)).json()
    await sms(client, order["id"], "code 4321")
    await client.get(f"/v1/user/finish/{order['id']}", headers=bearer(token))
    body = await _history(client, token, "payments", reverse="true")
    assert list(body) == ["Data", "PaymentTypes", "PaymentProviders", "Total"]
    assert list(body["Data"][0]) == [
        "ID",
        "TypeName",
        "ProviderName",
        "Amount",
        "Balance",
        "CreatedAt",
    ]
    rows = [(r["TypeName"], r["ProviderName"], r["Amount"], r["Balance"]) for r in body["Data"]]
    assert rows == [("buy", "vkontakte", -21, 79), ("charge", "admin", 100, 100)]
    assert body["PaymentTypes"] == [{"Name": "buy"}, {"Name": "charge"}]
    assert body["PaymentProviders"] == [{"Name": "admin"}, {"Name": "vkontakte"}]
    assert body["Total"] == 2
    page = await _history(client, token, "payments", limit="1", offset="1")
    assert [r["TypeName"] for r in page["Data"]] == ["buy"]


async def test_payments_history_empty(client: httpx.AsyncClient) -> None:
    _, token = await new_user(client)
    body = await _history(client, token, "payments")
    assert body == {"Data": [], "PaymentTypes": None, "PaymentProviders": None, "Total": 0}
