"""Card to card (contract §8): new cards, wallets (held, paid out after 60 s), recipients."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADMIN
from tests.nebeus.helpers import assert_ledger_sound, country_id, new_user, rpc
from tests.nebeus.test_accounts import deposit, last_code, wallet
from understudy.context import AppContext

NEW = "/card2card/new/1.0/json"
CARD = {
    "card_number": "4111111111111111",
    "cardholder_name": "USER ANONYMOUS",
    "expiration_date": "12/99",
    "cvv": "123",
}


def recipient(ctx: AppContext) -> dict[str, Any]:
    return {
        "recipient_country_id": country_id(ctx, "ES"),
        "recipient_card_number": "5555 5555 5555 4444",
        "recipient_email": "rec@example.com",
        "recipient_cardholder_name": "Rosa Garcia",
        "recipient_phone": "+34600000000",
    }


def err(field: str, message: str) -> dict[str, str]:
    return {"status": "error", "field": field, "message": message}


async def test_card_to_card_from_a_new_card_and_search(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "cc@example.com")
    params = {"from_sum": 10, "to_sum": 10.7, "to_sum_currency": 3} | CARD | recipient(ctx)
    result = await rpc(client, NEW, params | {"save_recipient_details": True}, session=sid)
    assert list(result) == ["status", "order_id"]
    assert result["status"] == "success"
    found = await rpc(client, "/card2card/search/1.0/json", {"query": "rosa"}, session=sid)
    assert found == [
        {
            "id": found[0]["id"],
            "cardholder_name": "Rosa Garcia",
            "card_number": "5555 **** **** 4444",
            "country_code": "ES",
            "email": "rec@example.com",
        }
    ]
    assert await rpc(client, "/card2card/search/1.0/json", {"query": "zzz"}, session=sid) == []
    by_id = {"from_sum": 10, "to_sum": 10, "to_sum_currency": 1, "recipient_id": found[0]["id"]}
    assert (await rpc(client, NEW, by_id | CARD, session=sid))["status"] == "success"


async def test_card_to_card_from_a_wallet_holds_then_pays_out(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "cw@example.com")
    await deposit(client, "cw@example.com", "EUR", 20)
    eur = await wallet(client, sid, "EUR")
    params = {
        "from_sum": 15,
        "to_sum": 12.9,
        "to_sum_currency": 4,
        "source_id": f"account:{eur['id']}",
    } | recipient(ctx)
    step1 = await rpc(client, NEW, params, session=sid)
    assert step1["method"] == "email"
    code = await last_code(client, "cw@example.com")
    done = await rpc(client, NEW, params | {"code_id": step1["code_id"], "code": code}, session=sid)
    assert done["status"] == "success"
    held = await wallet(client, sid, "EUR")
    assert (held["sum"], held["reserved"], held["available"]) == (20, 15, 5)
    await client.post("/_understudy/clock", json={"advance": 60}, headers=ADMIN)
    paid = await wallet(client, sid, "EUR")
    assert (paid["sum"], paid["reserved"]) == (5, 0)
    lines = await rpc(client, "/accounts/transactions/1.0/json", session=sid)
    assert (lines[0]["type"], lines[0]["debit"]) == ("Card to card transfer", 15)
    assert_ledger_sound(ctx)


async def test_card_to_card_errors(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "ce@example.com")
    eur = await wallet(client, sid, "EUR")
    base = {"from_sum": 10, "to_sum": 10, "to_sum_currency": 1}
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({}, err("from_sum", "From sum should be specified")),
        ({"from_sum": 1, "to_sum": 1}, err("to_sum_currency", "Currency should be specified")),
        (base | {"to_sum_currency": 99}, err("to_sum_currency", "Currency is not supported")),
        (base, err("card_number", "Card number should be specified")),
        (
            base | CARD | {"card_number": "4111111111111112"},
            err("card_number", "Card number is not valid"),
        ),
        (base | {"source_id": "card:77"}, err("source_id", "Payment source not found")),
        (base | CARD, err("recipient_country_id", "Country should be specified")),
        (base | CARD | {"recipient_id": 12345}, err("recipient_id", "Recipient not found")),
        (
            base | CARD | recipient(ctx) | {"recipient_card_number": "1234"},
            err("recipient_card_number", "Card number is not valid"),
        ),
        (
            base | CARD | recipient(ctx) | {"to_sum": 11},
            err("to_sum", "Sum does not match the current rate"),
        ),
        (
            base | recipient(ctx) | {"source_id": f"account:{eur['id']}"},
            err("from_sum", "Insufficient funds"),
        ),
        (
            base | CARD | recipient(ctx) | {"card_number": "4000000000000002"},
            {"status": "error", "message": "Something went wrong"},
        ),
    ]
    for params, expected in cases:
        assert await rpc(client, NEW, params, session=sid) == expected, params
    assert_ledger_sound(ctx)
