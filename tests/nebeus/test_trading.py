"""Buying and selling bitcoin (contract §7): rates, limits, cards, wallets, two-step."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADMIN
from tests.nebeus.helpers import assert_ledger_sound, new_user, rpc
from tests.nebeus.test_accounts import deposit, last_code, wallet
from understudy.context import AppContext
from understudy.nebeus.cards import luhn

BUY = "/buy_currency/1.0/json"
SELL = "/sell_currency/1.0/json"
CARD = {
    "card_number": "4111 1111 1111 1111",
    "cardholder_name": "USER ANONYMOUS",
    "expiration_date": "12/99",
    "cvc": "123",
}


def err(field: str, message: str) -> dict[str, str]:
    return {"status": "error", "field": field, "message": message}


async def verify_all(client: httpx.AsyncClient, login: str) -> None:
    for item in ("identity", "address", "phone"):
        r = await client.post(
            "/_understudy/nebeus/verification",
            json={"login": login, "item": item, "status": "verified"},
            headers=ADMIN,
        )
        assert r.status_code == 200


async def test_dealing_rates_and_limit(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "r@example.com")
    buy = await rpc(client, "/utils/get_buy_currencies/1.0/json", session=sid)
    sell = await rpc(client, "/utils/get_sell_currencies/1.0/json", session=sid)
    assert buy == [
        {
            "data-custom-class": "_btc",
            "name": "BTC",
            "rate": 0.00113974,
            "symbol": "Ƀ",
            "symbol-pos": "after",
            "value": "btc",
        }
    ]
    assert sell[0]["rate"] == 0.00118626
    limit = await rpc(client, "/btc/get_buy_limit/1.0/json", session=sid)
    assert limit == {"status": "success", "limit": 300, "currency": "EUR"}
    await verify_all(client, "r@example.com")  # 15 points -> credit rank 3
    limit = await rpc(client, "/btc/get_buy_limit/1.0/json", session=sid)
    assert limit["limit"] == 2500


async def test_buy_with_a_new_card_and_save_it(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "card@example.com")
    btc = await wallet(client, sid, "BTC")
    params = {"account_id": btc["id"], "buy_amount": 0.113974, "deposit_amount": 100}
    result = await rpc(client, BUY, params | CARD | {"save_card": True}, session=sid)
    assert result == {"status": "success"}
    assert (await wallet(client, sid, "BTC"))["sum"] == 0.113974
    limit = await rpc(client, "/btc/get_buy_limit/1.0/json", session=sid)
    assert limit["limit"] == 200
    sources = await rpc(client, "/payment_sources/1.0/json", session=sid)
    assert sources[0]["type"] == "card"
    assert sources[0]["name"] == "4111 **** **** 1111"
    assert sources[0]["id"].startswith("card:")
    lines = await rpc(client, "/accounts/transactions/1.0/json", session=sid)
    assert (lines[0]["type"], lines[0]["credit"]) == ("Buy bitcoin", 0.113974)
    # a saved card needs the two-step code
    again = params | {"payment_id": sources[0]["id"]}
    step1 = await rpc(client, BUY, again, session=sid)
    assert step1["status"] == "success" and "code_id" in step1
    code = await last_code(client, "card@example.com")
    done = await rpc(client, BUY, again | {"code_id": step1["code_id"], "code": code}, session=sid)
    assert done == {"status": "success"}
    assert (await wallet(client, sid, "BTC"))["sum"] == 0.227948
    assert_ledger_sound(ctx)


async def test_buy_from_the_eur_wallet(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "wal@example.com")
    await deposit(client, "wal@example.com", "EUR", 50)
    btc, eur = await wallet(client, sid, "BTC"), await wallet(client, sid, "EUR")
    params = {
        "account_id": btc["id"],
        "buy_amount": 0.0569870,
        "deposit_amount": 50,
        "payment_id": f"account:{eur['id']}",
    }
    step1 = await rpc(client, BUY, params, session=sid)
    code = await last_code(client, "wal@example.com")
    params |= {"code_id": step1["code_id"], "code": code}
    assert await rpc(client, BUY, params, session=sid) == {"status": "success"}
    assert (await wallet(client, sid, "EUR"))["sum"] == 0
    assert (await wallet(client, sid, "BTC"))["sum"] == 0.056987
    assert_ledger_sound(ctx)


async def test_buy_errors(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "be@example.com")
    btc, eur = await wallet(client, sid, "BTC"), await wallet(client, sid, "EUR")
    base = {"account_id": btc["id"], "buy_amount": 0.113974, "deposit_amount": 100}
    declined = CARD | {"card_number": "4000000000000002"}
    assert luhn("4000000000000002")
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        (base | CARD | {"account_id": eur["id"]}, err("account_id", "Account not found")),
        (
            base | CARD | {"buy_amount": 0.2},
            err("buy_amount", "Amount does not match the current rate"),
        ),
        (
            {"account_id": btc["id"], "buy_amount": 0.34192200, "deposit_amount": 300.01} | CARD,
            err("buy_amount", "Amount does not match the current rate"),
        ),
        (
            {"account_id": btc["id"], "buy_amount": 0.341922, "deposit_amount": 300} | CARD,
            {"status": "success"},
        ),
        (base | CARD, err("buy_amount", "Limit exceeded")),
    ]
    for params, expected in cases:
        assert await rpc(client, BUY, params, session=sid) == expected, params
    sid2 = await new_user(client, ctx, "be2@example.com")
    btc2 = await wallet(client, sid2, "BTC")
    base2 = base | {"account_id": btc2["id"]}
    more = [
        (base2 | CARD | {"cvc": "1"}, {"status": "error", "message": "Card details are not valid"}),
        (
            base2 | CARD | {"expiration_date": "01/20"},
            {"status": "error", "message": "Card details are not valid"},
        ),
        (
            base2 | CARD | {"card_number": "4111111111111112"},
            {"status": "error", "message": "Card details are not valid"},
        ),
        (base2 | declined, {"status": "error", "message": "Something went wrong"}),
        (base2, err("card_number", "Card number should be specified")),
        (base2 | {"payment_id": "card:999"}, err("payment_id", "Payment source not found")),
        (
            base2 | {"payment_id": f"account:{eur['id']}"},
            err("payment_id", "Payment source not found"),
        ),
    ]
    for params, expected in more:
        assert await rpc(client, BUY, params, session=sid2) == expected, params
    assert (await wallet(client, sid2, "BTC"))["sum"] == 0
    assert_ledger_sound(ctx)


async def test_sell_in_two_steps(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "s@example.com")
    await deposit(client, "s@example.com", "BTC", "0.02")
    btc, eur = await wallet(client, sid, "BTC"), await wallet(client, sid, "EUR")
    params = {"debit_from": btc["id"], "deposit_to": eur["id"], "sell_sum": 0.01, "buy_sum": 8.43}
    bad = await rpc(client, SELL, params | {"buy_sum": 8.5}, session=sid)
    assert bad == err("buy_sum", "Amount does not match the current rate")
    too_much = await rpc(client, SELL, params | {"sell_sum": 0.03, "buy_sum": 25.29}, session=sid)
    assert too_much == err("sell_sum", "Insufficient funds")
    step1 = await rpc(client, SELL, params, session=sid)
    assert step1["method"] == "email"
    code = await last_code(client, "s@example.com")
    done = await rpc(
        client, SELL, params | {"code_id": step1["code_id"], "code": code}, session=sid
    )
    assert done == {"status": "success"}
    assert (await wallet(client, sid, "BTC"))["sum"] == 0.01
    assert (await wallet(client, sid, "EUR"))["sum"] == 8.43
    lines = await rpc(client, "/accounts/transactions/1.0/json", session=sid)
    assert {line["type"] for line in lines[:2]} == {"Sell bitcoin"}
    limit = await rpc(client, "/btc/get_buy_limit/1.0/json", session=sid)
    assert limit["limit"] == 291.57
    assert_ledger_sound(ctx)
