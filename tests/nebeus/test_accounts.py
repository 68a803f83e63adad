"""Money basics (contract §5, §6): currencies, rates, wallets, deposits, statements, transfers."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from tests.conftest import ADMIN
from tests.nebeus.helpers import assert_ledger_sound, new_user, rpc
from understudy.context import AppContext

ACCOUNTS = "/accounts/1.0/json"
TRANSFER = "/accounts/transfer/1.0/json"


async def deposit(client: httpx.AsyncClient, login: str, currency: str, amount: Any) -> None:
    r = await client.post(
        "/_understudy/nebeus/deposit",
        json={"login": login, "currency": currency, "amount": amount},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok"}


async def wallet(client: httpx.AsyncClient, sid: str, currency: str) -> dict[str, Any]:
    accounts = await rpc(client, ACCOUNTS, session=sid)
    return next(a for a in accounts if a["currency"]["name"] == currency)


async def last_code(client: httpx.AsyncClient, to: str) -> str:
    mail = (await client.get("/_understudy/mail", params={"to": to}, headers=ADMIN)).json()
    match = re.search(r"\b(\d{6})\b", mail["messages"][-1]["body"])
    assert match
    return match.group(1)


async def test_currencies_at_market_rate_and_operator_rates(client: httpx.AsyncClient) -> None:
    currencies = await rpc(client, "/utils/get_currencies/1.0/json")
    btc = next(c for c in currencies if c["name"] == "BTC")
    assert btc == {
        "id": 2,
        "data-custom-class": "_btc",
        "name": "BTC",
        "rate": 0.001163,
        "symbol": "Ƀ",
        "symbol-pos": "after",
        "value": "btc",
    }
    rates = {c["name"]: c["rate"] for c in currencies}
    assert rates == {"EUR": 1, "BTC": 0.001163, "USD": 1.07, "GBP": 0.86}
    r = await client.post(
        "/_understudy/nebeus/rates", json={"currency": "BTC", "rate": 0.0011}, headers=ADMIN
    )
    assert r.json() == {"status": "ok"}
    currencies = await rpc(client, "/utils/get_currencies/1.0/json")
    assert next(c for c in currencies if c["name"] == "BTC")["rate"] == 0.0011
    for bad in ({"currency": "XYZ", "rate": 1}, {"currency": "USD", "rate": -1}):
        r = await client.post("/_understudy/nebeus/rates", json=bad, headers=ADMIN)
        assert r.status_code == 400
        assert list(r.json()) == ["error"]


async def test_new_user_has_btc_and_eur_wallets(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "w@example.com")
    btc, eur = await rpc(client, ACCOUNTS, session=sid)
    assert list(btc) == ["id", "acc_number", "currency", "sum", "reserved", "available"]
    assert btc["currency"] == {"name": "BTC", "rate": 0.001163}
    assert re.fullmatch(r"1[1-9A-HJ-NP-Za-km-z]{33}", btc["acc_number"])
    assert eur["currency"] == {"name": "EUR", "rate": 1}
    assert re.fullmatch(r"NB\d{14}", eur["acc_number"])
    assert (eur["sum"], eur["reserved"], eur["available"]) == (0, 0, 0)


async def test_create_account(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "c@example.com")
    created = await rpc(client, "/accounts/create/1.0/json", {"currency": "usd"}, session=sid)
    assert list(created) == ["status", "account_id"]
    assert created["status"] == "success"
    usd = await wallet(client, sid, "USD")
    assert usd["id"] == created["account_id"]
    again = await rpc(client, "/accounts/create/1.0/json", {"currency": "USD"}, session=sid)
    assert again == {
        "status": "error",
        "field": "currency",
        "message": "Account in this currency already exists",
    }
    unknown = await rpc(client, "/accounts/create/1.0/json", {"currency": "RUB"}, session=sid)
    assert unknown["message"] == "Currency is not supported"
    missing = await rpc(client, "/accounts/create/1.0/json", {}, session=sid)
    assert missing == {
        "status": "error",
        "field": "currency",
        "message": "Currency should be specified",
    }


async def test_deposit_shows_in_balance_and_statement(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "d@example.com")
    await deposit(client, "D@example.com", "EUR", 14.56)
    await deposit(client, "d@example.com", "BTC", "0.001")
    eur = await wallet(client, sid, "EUR")
    assert (eur["sum"], eur["reserved"], eur["available"]) == (14.56, 0, 14.56)
    assert (await wallet(client, sid, "BTC"))["sum"] == 0.001
    lines = await rpc(client, "/accounts/transactions/1.0/json", session=sid)
    assert [line["currency"] for line in lines] == ["BTC", "EUR"]  # newest first
    first = lines[0]
    assert list(first) == ["credit", "currency", "date", "debit", "id", "partner", "type"]
    assert (first["credit"], first["debit"], first["type"]) == (0.001, 0, "Deposit")
    assert first["partner"] == {"surname": "Transfer", "name": "Internal"}
    assert re.fullmatch(r"[a-z0-9]{8}", first["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first["date"])
    only_eur = await rpc(
        client, "/accounts/transactions/1.0/json", {"account_id": eur["id"]}, session=sid
    )
    assert [line["credit"] for line in only_eur] == [14.56]
    paged = await rpc(
        client, "/accounts/transactions/1.0/json", {"offset": 1, "limit": 1}, session=sid
    )
    assert [line["currency"] for line in paged] == ["EUR"]
    assert_ledger_sound(ctx)


async def test_deposit_refuses_bad_input(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await new_user(client, ctx, "bad@example.com")
    for body in (
        {"login": "nobody@example.com", "currency": "EUR", "amount": 1},
        {"login": "bad@example.com", "currency": "XXX", "amount": 1},
        {"login": "bad@example.com", "currency": "EUR", "amount": "1.001"},
        {"login": "bad@example.com", "currency": "EUR", "amount": 0},
        {"login": "bad@example.com", "currency": "EUR"},
    ):
        r = await client.post("/_understudy/nebeus/deposit", json=body, headers=ADMIN)
        assert r.status_code == 400, body
        assert list(r.json()) == ["error"]


async def test_statement_of_someone_elses_account_is_not_found(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    a = await new_user(client, ctx, "a@example.com")
    b = await new_user(client, ctx, "b@example.com")
    foreign = (await wallet(client, b, "EUR"))["id"]
    result = await rpc(
        client, "/accounts/transactions/1.0/json", {"account_id": foreign}, session=a
    )
    assert result == {"status": "error", "field": "account_id", "message": "Account not found"}


async def test_transfer_in_two_steps(client: httpx.AsyncClient, ctx: AppContext) -> None:
    alice = await new_user(client, ctx, "alice@example.com")
    bob = await new_user(client, ctx, "bob@example.com")
    await deposit(client, "alice@example.com", "EUR", 100)
    source = (await wallet(client, alice, "EUR"))["id"]
    params = {"debit_from": source, "recipient_login": "BOB@example.com", "sum": 25.5}
    step1 = await rpc(client, TRANSFER, params, session=alice)
    assert list(step1) == ["status", "timestamp", "method", "code_id", "time"]
    assert (step1["status"], step1["method"], step1["time"]) == ("success", "email", 300000)
    assert (await wallet(client, alice, "EUR"))["sum"] == 100  # nothing moved yet
    code = await last_code(client, "alice@example.com")
    done = await rpc(
        client, TRANSFER, params | {"code_id": step1["code_id"], "code": code}, session=alice
    )
    assert done == {"status": "success"}
    assert (await wallet(client, alice, "EUR"))["sum"] == 74.5
    assert (await wallet(client, bob, "EUR"))["sum"] == 25.5
    lines = await rpc(client, "/accounts/transactions/1.0/json", session=bob)
    assert lines[0]["type"] == "Internal transfer"
    assert lines[0]["credit"] == 25.5
    assert lines[0]["partner"]["name"] == "User"
    assert lines[0]["partner"]["country_code"] == "ES"
    # single use
    again = await rpc(
        client, TRANSFER, params | {"code_id": step1["code_id"], "code": code}, session=alice
    )
    assert again == {"status": "error", "field": "code_id", "message": "Code not found"}
    assert_ledger_sound(ctx)


async def test_transfer_creates_the_recipients_wallet(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    alice = await new_user(client, ctx, "alice@example.com")
    bob = await new_user(client, ctx, "bob@example.com")
    await deposit(client, "alice@example.com", "GBP", 10)
    source = (await wallet(client, alice, "GBP"))["id"]
    params = {"debit_from": source, "recipient_login": "bob@example.com", "sum": "10"}
    step1 = await rpc(client, TRANSFER, params, session=alice)
    code = await last_code(client, "alice@example.com")
    params |= {"code_id": step1["code_id"], "code": code}
    assert await rpc(client, TRANSFER, params, session=alice) == {"status": "success"}
    assert (await wallet(client, bob, "GBP"))["sum"] == 10
    assert (await wallet(client, alice, "GBP"))["available"] == 0
    assert_ledger_sound(ctx)


async def test_transfer_errors(client: httpx.AsyncClient, ctx: AppContext) -> None:
    alice = await new_user(client, ctx, "alice@example.com")
    bob = await new_user(client, ctx, "bob@example.com")
    await deposit(client, "alice@example.com", "EUR", 5)
    mine = (await wallet(client, alice, "EUR"))["id"]
    theirs = (await wallet(client, bob, "EUR"))["id"]
    to_bob = {"recipient_login": "bob@example.com"}
    cases = [
        (
            {"recipient_login": "bob@example.com", "sum": 1},
            "debit_from",
            "Account should be specified",
        ),
        (to_bob | {"debit_from": theirs, "sum": 1}, "debit_from", "Account not found"),
        (
            {"debit_from": mine, "recipient_login": "x@example.com", "sum": 1},
            "recipient_login",
            "User not found",
        ),
        (
            {"debit_from": mine, "recipient_login": "alice@example.com", "sum": 1},
            "recipient_login",
            "You cannot transfer to yourself",
        ),
        (to_bob | {"debit_from": mine, "sum": -1}, "sum", "Sum must be positive"),
        (to_bob | {"debit_from": mine, "sum": "1.001"}, "sum", "Invalid amount"),
        (to_bob | {"debit_from": mine, "sum": "ten"}, "sum", "Invalid amount"),
        (to_bob | {"debit_from": mine}, "sum", "Sum should be specified"),
        (to_bob | {"debit_from": mine, "sum": 5.01}, "sum", "Insufficient funds"),
    ]
    for params, field, message in cases:
        result = await rpc(client, TRANSFER, params, session=alice)
        assert result == {"status": "error", "field": field, "message": message}, params
    assert_ledger_sound(ctx)


async def test_confirmation_code_rules(client: httpx.AsyncClient, ctx: AppContext) -> None:
    alice = await new_user(client, ctx, "alice@example.com")
    await new_user(client, ctx, "bob@example.com")
    await deposit(client, "alice@example.com", "EUR", 50)
    source = (await wallet(client, alice, "EUR"))["id"]
    params = {"debit_from": source, "recipient_login": "bob@example.com", "sum": 1}

    async def send(extra: dict[str, Any]) -> Any:
        return await rpc(client, TRANSFER, params | extra, session=alice)

    def err(field: str, message: str) -> dict[str, str]:
        return {"status": "error", "field": field, "message": message}

    first = await send({})
    good = await last_code(client, "alice@example.com")
    # bound to the parameters
    other = await rpc(
        client,
        TRANSFER,
        params | {"sum": 2, "code_id": first["code_id"], "code": good},
        session=alice,
    )
    assert other == err("code_id", "Code does not match this operation")
    assert await send({"code_id": 999999, "code": good}) == err("code_id", "Code not found")
    assert await send({"code_id": first["code_id"]}) == err("code", "Code should be specified")
    # voided by a newer code
    second = await send({})
    assert await send({"code_id": first["code_id"], "code": good}) == err(
        "code", "Code has expired"
    )
    newest = await last_code(client, "alice@example.com")
    wrong = "000000" if newest != "000000" else "111111"
    # three wrong tries
    assert await send({"code_id": second["code_id"], "code": wrong}) == err(
        "code", "Code is incorrect"
    )
    assert await send({"code_id": second["code_id"], "code": wrong}) == err(
        "code", "Code is incorrect"
    )
    assert await send({"code_id": second["code_id"], "code": wrong}) == err(
        "code", "Too many attempts"
    )
    assert await send({"code_id": second["code_id"], "code": newest}) == err(
        "code", "Too many attempts"
    )
    # expiry after 300 s
    third = await send({})
    code = await last_code(client, "alice@example.com")
    await client.post("/_understudy/clock", json={"advance": 301}, headers=ADMIN)
    assert await send({"code_id": third["code_id"], "code": code}) == err(
        "code", "Code has expired"
    )
    assert (await wallet(client, alice, "EUR"))["sum"] == 50
    assert_ledger_sound(ctx)


async def test_a_code_confirms_only_one_of_two_concurrent_calls(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    alice = await new_user(client, ctx, "alice@example.com")
    await new_user(client, ctx, "bob@example.com")
    await deposit(client, "alice@example.com", "EUR", 10)
    source = (await wallet(client, alice, "EUR"))["id"]
    params = {"debit_from": source, "recipient_login": "bob@example.com", "sum": 6}
    step1 = await rpc(client, TRANSFER, params, session=alice)
    code = await last_code(client, "alice@example.com")
    confirmed = params | {"code_id": step1["code_id"], "code": code}
    results = await asyncio.gather(
        *(rpc(client, TRANSFER, confirmed, session=alice) for _ in range(4))
    )
    assert sorted(r["status"] for r in results) == ["error", "error", "error", "success"]
    assert (await wallet(client, alice, "EUR"))["sum"] == 4
    assert_ledger_sound(ctx)
