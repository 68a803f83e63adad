"""The vendor side: profile, numbers, SMS, earnings on FINISHED, reserves and withdrawals."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADMIN
from tests.fivesim.helpers import (
    CONTROL,
    assert_error,
    assert_invariants,
    bearer,
    buy,
    new_user,
    stock,
)
from understudy.context import AppContext

PHONE = "+79001234567"


async def _vendor_with_number(client: httpx.AsyncClient) -> str:
    _, token = await new_user(client, "seller@example.com", vendor="seller")
    await stock(client, count=0)  # prices vkontakte on russia/beeline, no sandbox numbers
    answer = await client.post(
        "/v1/vendor/numbers",
        json=[{"phone": PHONE, "country": "russia", "operator": "beeline"}],
        headers=bearer(token),
    )
    assert (answer.status_code, answer.json()) == (200, {"added": 1, "skipped": 0})
    return token


async def _vendor_sms(client: httpx.AsyncClient, token: str, **body: Any) -> httpx.Response:
    return await client.post("/v1/vendor/sms", json=body, headers=bearer(token))


async def test_vendor_routes_need_a_vendor_token(client: httpx.AsyncClient) -> None:
    _, buyer = await new_user(client)
    for path in (
        "/v1/user/vendor",
        "/v1/vendor/wallets",
        "/v1/vendor/orders",
        "/v1/vendor/payments",
    ):
        answer = await client.get(path, headers=bearer(buyer))
        assert (answer.status_code, answer.content) == (401, b""), path


async def test_sale_on_a_vendor_number_pays_the_vendor(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    seller = await _vendor_with_number(client)
    again = await client.post(
        "/v1/vendor/numbers",
        json=[
            {"phone": PHONE, "country": "russia", "operator": "beeline"},
            {"phone": "+7 900 765-43-21", "country": "russia", "operator": "beeline"},
        ],
        headers=bearer(seller),
    )
    assert again.json() == {"added": 1, "skipped": 1}
    _, buyer = await new_user(client, balance=100)
    order = (await buy(client, buyer)).json()
    assert_error(
        await _vendor_sms(client, seller, phone="+70000000000", sender="x", text="1"),
        "order not found",
        404,
    )
    delivered = await _vendor_sms(
        client,
        seller,
        phone=order["phone"],
        sender="VKcom",
        text="Your code: 7788",
        date="2026-01-01T10:00:00Z",
    )
    assert delivered.json() == {"order_id": order["id"], "code": "7788"}
    await client.get(f"/v1/user/finish/{order['id']}", headers=bearer(buyer))
    me = (await client.get("/v1/user/vendor", headers=bearer(seller))).json()
    assert (me["vendor"], me["balance"], me["frozen_balance"]) == ("seller", 16.8, 0)
    sold = (await client.get("/v1/vendor/orders", headers=bearer(seller))).json()
    assert [(o["id"], o["status"]) for o in sold["Data"]] == [(order["id"], "FINISHED")]
    payments = (await client.get("/v1/vendor/payments", headers=bearer(seller))).json()
    assert list(payments) == [
        "Data",
        "PaymentProviders",
        "PaymentStatuses",
        "PaymentTypes",
        "Total",
    ]
    assert [(p["TypeName"], p["Amount"]) for p in payments["Data"]] == [("sell", 16.8)]
    assert_invariants(ctx)


async def test_cancel_pays_the_vendor_nothing(client: httpx.AsyncClient) -> None:
    seller = await _vendor_with_number(client)
    _, buyer = await new_user(client, balance=100)
    order = (await buy(client, buyer)).json()
    await client.get(f"/v1/user/cancel/{order['id']}", headers=bearer(buyer))
    me = (await client.get("/v1/user/vendor", headers=bearer(seller))).json()
    assert me["balance"] == 0


async def test_number_refusals(client: httpx.AsyncClient) -> None:
    _, token = await new_user(client, "seller@example.com", vendor=True)
    cases = [
        ({"phone": PHONE, "country": "narnia", "operator": "beeline"}, "bad country"),
        ({"phone": PHONE, "country": "russia", "operator": "any"}, "bad operator"),
        ({"phone": "call me", "country": "russia", "operator": "beeline"}, "bad phone"),
    ]
    for item, error in cases:
        answer = await client.post("/v1/vendor/numbers", json=[item], headers=bearer(token))
        assert_error(answer, error)


async def test_wallets_and_withdraw(client: httpx.AsyncClient, ctx: AppContext) -> None:
    seller = await _vendor_with_number(client)
    auth = bearer(seller)
    assert (await client.get("/v1/vendor/wallets", headers=auth)).json() == {
        "fkwallet": 0,
        "payeer": 0,
        "unitpay": 0,
    }
    set_reserves = await client.post(
        f"{CONTROL}/reserves", json={"payeer": 100, "unitpay": 5.5}, headers=ADMIN
    )
    assert set_reserves.json() == {"status": "ok"}
    assert (await client.get("/v1/user/wallets", headers=auth)).json() == {
        "fkwallet": 0,
        "payeer": 100,
        "unitpay": 5.5,
    }
    _, buyer = await new_user(client, balance=100)
    order = (await buy(client, buyer)).json()
    await _vendor_sms(client, seller, phone=PHONE, sender="VK", text="code 1234")
    await client.get(f"/v1/user/finish/{order['id']}", headers=bearer(buyer))
    base = {"receiver": "123", "method": "qiwi", "amount": "10", "fee": "payeer"}
    for change, error in (
        ({"method": "cash"}, "bad method"),
        ({"fee": "bank"}, "bad fee"),
        ({"amount": "-1"}, "bad amount"),
        ({"amount": "20"}, "not enough user balance"),  # earnings are 16.8
        ({"fee": "unitpay"}, "not enough user balance"),  # reserve is 5.5
    ):
        answer = await client.post("/v1/vendor/withdraw", json={**base, **change}, headers=auth)
        assert_error(answer, error)
    paid = await client.post("/v1/vendor/withdraw", data=base, headers=auth)
    assert (paid.status_code, paid.json()) == (200, {})
    assert (await client.get("/v1/user/vendor", headers=auth)).json()["balance"] == 6.8
    assert (await client.get("/v1/vendor/wallets", headers=auth)).json()["payeer"] == 90
    rows = (await client.get("/v1/vendor/payments", headers=auth)).json()["Data"]
    assert [(r["TypeName"], r["ProviderName"], r["Amount"], r["Balance"]) for r in rows] == [
        ("sell", "vkontakte", 16.8, 16.8),
        ("withdraw", "payeer", -10, 6.8),
    ]
    assert_invariants(ctx)


async def test_crypto_stubs(client: httpx.AsyncClient) -> None:
    _, token = await new_user(client)
    auth = bearer(token)
    assert (await client.get("/v1/user/payment/crypto2/rates", headers=auth)).json() == {}
    invoice = await client.post(
        "/v1/user/payment/crypto2/invoice", json={"amount": 10, "currency": "btc"}, headers=auth
    )
    assert invoice.json() == {}
    assert (await client.get("/v1/user/payment/crypto2/rates")).status_code == 401
