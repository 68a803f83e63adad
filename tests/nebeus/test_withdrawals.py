"""Withdrawals (contract §5): two-step, held at once, posted after 60 s; payment sources."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN
from tests.nebeus.helpers import assert_ledger_sound, new_user, rpc
from tests.nebeus.test_accounts import deposit, last_code, wallet
from understudy.context import AppContext
from understudy.nebeus.withdrawals import valid_btc_address, valid_iban

WITHDRAW = "/accounts/withdraw/1.0/json"
BTC_ADDRESS = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
IBAN = "GB82 WEST 1234 5698 7654 32"


def test_address_checks() -> None:
    assert valid_btc_address(BTC_ADDRESS)
    assert valid_btc_address("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")
    assert not valid_btc_address("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3")  # checksum
    assert valid_iban(IBAN)
    assert not valid_iban("GB82WEST12345698765433")


async def test_withdraw_holds_then_pays_out_after_a_minute(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "w@example.com")
    await deposit(client, "w@example.com", "BTC", "0.5")
    btc = await wallet(client, sid, "BTC")
    params = {"account_id": btc["id"], "address": BTC_ADDRESS, "sum": 0.2}
    step1 = await rpc(client, WITHDRAW, params, session=sid)
    assert step1["status"] == "success" and step1["method"] == "email"
    code = await last_code(client, "w@example.com")
    done = await rpc(
        client, WITHDRAW, params | {"code_id": step1["code_id"], "code": code}, session=sid
    )
    assert list(done) == ["status", "withdrawal_id"]
    assert done["status"] == "success" and isinstance(done["withdrawal_id"], int)
    held = await wallet(client, sid, "BTC")
    assert (held["sum"], held["reserved"], held["available"]) == (0.5, 0.2, 0.3)
    # a second withdrawal cannot spend what is held
    too_much = await rpc(client, WITHDRAW, params | {"sum": 0.31}, session=sid)
    assert too_much == {"status": "error", "field": "sum", "message": "Insufficient funds"}
    await client.post("/_understudy/clock", json={"advance": 60}, headers=ADMIN)
    paid = await wallet(client, sid, "BTC")
    assert (paid["sum"], paid["reserved"], paid["available"]) == (0.3, 0, 0.3)
    lines = await rpc(client, "/accounts/transactions/1.0/json", session=sid)
    assert (lines[0]["type"], lines[0]["debit"]) == ("Withdrawal", 0.2)
    assert lines[0]["partner"] == {"surname": "Transfer", "name": "Internal"}
    assert_ledger_sound(ctx)


async def test_withdraw_is_applied_lazily_when_read(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "lazy@example.com")
    await deposit(client, "lazy@example.com", "EUR", 10)
    eur = await wallet(client, sid, "EUR")
    params = {"account_id": eur["id"], "address": IBAN, "sum": 4}
    step1 = await rpc(client, WITHDRAW, params, session=sid)
    code = await last_code(client, "lazy@example.com")
    await rpc(client, WITHDRAW, params | {"code_id": step1["code_id"], "code": code}, session=sid)
    # move the clock without the control call's sweep: set the offset only
    from understudy.core.clock import ClockState

    with ctx.db.write() as s:
        s.merge(ClockState(id=1, offset_us=61_000_000))
    assert (await wallet(client, sid, "EUR"))["sum"] == 6
    assert_ledger_sound(ctx)


async def test_withdraw_errors(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "e@example.com")
    await deposit(client, "e@example.com", "EUR", 10)
    btc = (await wallet(client, sid, "BTC"))["id"]
    eur = (await wallet(client, sid, "EUR"))["id"]
    cases = [
        ({"address": IBAN, "sum": 1}, "account_id", "Account should be specified"),
        ({"account_id": 999999, "address": IBAN, "sum": 1}, "account_id", "Account not found"),
        ({"account_id": eur, "address": BTC_ADDRESS, "sum": 1}, "address", "Address is not valid"),
        ({"account_id": btc, "address": IBAN, "sum": 1}, "address", "Address is not valid"),
        ({"account_id": eur, "sum": 1}, "address", "Address should be specified"),
        ({"account_id": eur, "address": IBAN, "sum": 0}, "sum", "Sum must be positive"),
        ({"account_id": eur, "address": IBAN, "sum": 10.01}, "sum", "Insufficient funds"),
    ]
    for params, field, message in cases:
        result = await rpc(client, WITHDRAW, params, session=sid)
        assert result == {"status": "error", "field": field, "message": message}, params


async def test_payment_sources_list_the_wallets(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "p@example.com")
    btc = await wallet(client, sid, "BTC")
    sources = await rpc(client, "/payment_sources/1.0/json", session=sid)
    assert sources[0] == {
        "id": f"account:{btc['id']}",
        "type": "account",
        "name": f"BTC {btc['acc_number']}",
    }
    assert [s["type"] for s in sources] == ["account", "account"]
