"""`/partner/dashboard` and `/dashboard/graphic` (contract §4.1, §4.2): the seed's examples as
golden shapes, and every field following the caller's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update

from tests.nebeus.helpers import assert_ledger_sound, rpc
from tests.nebeus.test_accounts import deposit, wallet
from tests.nebeus.test_loans import (
    FUND,
    GET,
    advance,
    borrower,
    clock_now,
    new_user,
    request_loan,
    verify,
)
from understudy.context import AppContext
from understudy.nebeus.models import Partner, User

DASHBOARD = "/partner/dashboard"
GRAPHIC = "/dashboard/graphic"

# The seed's examples (001_22135846ac0d9ca0.txt), with its quirks fixed: JSON commas, "BTC".
SEED_DASHBOARD: dict[str, Any] = {
    "name": "User",
    "surname": "Anonymous",
    "city": "Barcelona",
    "country_name": "Spain",
    "country_code": "ES",
    "rating": 5,
    "credit_rank": 3,
    "verification": {
        "address": {"status": "verified", "points": 5},
        "identity": {"status": "verified", "points": 5},
        "phone": {"status": True, "points": 5},
    },
    "social_networks": [
        {"name": "Facebook Graph", "connected": False, "auth_link": "..."},
        {"name": "Google OAuth2", "connected": False, "auth_link": "..."},
        {"name": "LinkedIn", "connected": False, "auth_link": "..."},
        {"name": "PayPal", "connected": True, "auth_link": "..."},
    ],
    "default_currency": {"rate": 1, "name": "EUR"},
    "accounts": [
        {
            "acc_number": "1Bhrfsdljaflkiudsf",
            "currency": {"rate": 0.001163, "name": "BTC"},
            "sum": 0.001,
        },
        {"acc_number": "1Bhrfsdljaflkiudsf", "currency": {"rate": 1, "name": "EUR"}, "sum": 14.56},
    ],
    "transactions": [
        {
            "credit": 0,
            "currency": "BTC",
            "date": "2016-12-03 10:13:53",
            "debit": 0.001,
            "id": "dfb932fg",
            "partner": {"surname": "Transfer", "name": "Internal"},
            "type": "Disbursement of a loan",
        },
        {
            "credit": 0.001,
            "currency": "BTC",
            "date": "2016-12-03 14:30:56",
            "debit": 0.0,
            "id": "af32dffg",
            "partner": {"surname": "Anonymous", "name": "User", "id": 134, "country_code": "ES"},
            "type": "Disbursement of a loan",
        },
    ],
    "nearest_operations": [
        {
            "amount": 0,
            "date": "2016-12-08 10:13:45",
            "description": "Loan repayment",
            "id": "db8fa412d",
            "type": "credit",
        }
    ],
    "reserved_money": {"credit": 10, "debit": 0.5, "currency_name": "BTC"},
}
ZERO = {"credit": 0, "debit": 0}
SEED_GRAPHIC: dict[str, Any] = {
    "all_time": {"credit": 0.232996, "debit": 0.225304},
    "days": {
        "2017-02-24": ZERO,
        "2017-02-25": ZERO,
        "2017-02-26": ZERO,
        "2017-02-27": ZERO,
        "2017-02-28": {"credit": 0.000101, "debit": 0},
        "2017-03-01": ZERO,
        "2017-03-02": ZERO,
        "2017-03-03": ZERO,
    },
    "month": ZERO,
    "week": {"credit": 0.000101, "debit": 0},
    "year": {"credit": 0.02455, "debit": 0.002163},
    "currency_name": "BTC",
}


def shape(value: Any) -> Any:
    """Keys, nesting and JSON types (numbers as one type), not values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def same_shape(ours: Any, seed: Any) -> bool:
    """Whether `ours` has the seed's shape; list items may match any of the seed's items."""
    if isinstance(seed, dict):
        return (
            isinstance(ours, dict)
            and list(ours) == list(seed)
            and all(same_shape(ours[k], seed[k]) for k in seed)
        )
    if isinstance(seed, list):
        return isinstance(ours, list) and all(any(same_shape(o, s) for s in seed) for o in ours)
    return shape(ours) == shape(seed)


def graphic_shape(body: dict[str, Any]) -> bool:
    """The seed's graphic shape: its `days` keys are dates, 8 of them, ascending."""
    days = body["days"]
    plain = {**body, "days": list(days.values())}
    seed = {**SEED_GRAPHIC, "days": list(SEED_GRAPHIC["days"].values())}
    keys = list(days)
    dates = [datetime.strptime(k, "%Y-%m-%d").date() for k in keys]
    consecutive = all((b - a).days == 1 for a, b in pairwise(dates))
    return same_shape(plain, seed) and len(keys) == 8 and consecutive


async def test_dashboard_has_the_seed_shape_and_real_figures(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    me = await borrower(client, ctx, "me@example.com")  # fully verified: rank 3, as the seed
    with ctx.db.write() as s:
        s.execute(update(Partner).where(Partner.email == "me@example.com").values(city="Barcelona"))
    fresh = await rpc(client, DASHBOARD, session=me)
    assert fresh["transactions"] == [] and fresh["nearest_operations"] == []
    assert fresh["reserved_money"] == {"credit": 0, "debit": 0, "currency_name": "BTC"}

    # me borrows 0.01 BTC from lender (collateral 50 EUR held) and lends 0.002 BTC to friend
    await deposit(client, "me@example.com", "EUR", 100)
    await deposit(client, "me@example.com", "BTC", "0.003")
    lender = await new_user(client, ctx, "lender@example.com")
    await deposit(client, "lender@example.com", "BTC", 1)
    mine = await request_loan(
        client,
        me,
        amount="0.01",
        currency="BTC",
        term=2,
        interest_rate=10,
        collateral_amount=50,
        collateral_currency="EUR",
    )
    await rpc(client, FUND, {"loan_id": mine}, session=lender)
    friend = await borrower(client, ctx, "friend@example.com")
    theirs = await request_loan(client, friend, amount="0.002", currency="BTC", term=3)
    await rpc(client, FUND, {"loan_id": theirs}, session=me)
    await advance(client, 0)

    body = await rpc(client, DASHBOARD, session=me)
    assert same_shape(body, SEED_DASHBOARD), body
    assert (body["name"], body["surname"], body["city"]) == ("User", "Anonymous", "Barcelona")
    assert (body["country_name"], body["country_code"]) == ("Spain", "ES")
    assert (body["rating"], body["credit_rank"]) == (5, 3)
    assert body["verification"] == SEED_DASHBOARD["verification"]
    assert [n["name"] for n in body["social_networks"]] == [
        "Facebook Graph",
        "Google OAuth2",
        "LinkedIn",
        "PayPal",
    ]
    assert all(n["connected"] is False and n["auth_link"] == "" for n in body["social_networks"])
    assert body["default_currency"] == {"rate": 1, "name": "EUR"}
    assert [(a["currency"], a["sum"]) for a in body["accounts"]] == [
        ({"rate": 0.001163, "name": "BTC"}, 0.011),  # 0.003 + 0.01 borrowed − 0.002 lent
        ({"rate": 1, "name": "EUR"}, 100),
    ]
    assert len({a["acc_number"] for a in body["accounts"]}) == 2

    lines = body["transactions"]
    assert [(t["type"], t["credit"], t["debit"]) for t in lines] == [
        ("Deposit", 100, 0),
        ("Deposit", 0.003, 0),
        ("Disbursement of a loan", 0.01, 0),
        ("Disbursement of a loan", 0, 0.002),
    ]
    lender_partner = (await rpc(client, GET, {"loan_id": mine}, session=me))["lender"]
    assert lines[2]["partner"] == lender_partner  # the seed's credit line: from the lender
    assert lines[3]["partner"] == {"surname": "Transfer", "name": "Internal"}
    assert lines[0]["partner"] == {"surname": "Transfer", "name": "Internal"}

    theirs_plan = (await rpc(client, GET, {"loan_id": theirs}, session=me))["instalments"]
    mine_plan = (await rpc(client, GET, {"loan_id": mine}, session=me))["instalments"]
    expected_ops = sorted(
        [(i["date"], i["id"], i["amount"], "credit") for i in theirs_plan]
        + [(i["date"], i["id"], i["amount"], "debit") for i in mine_plan]
    )  # all five fit
    ops = [(o["date"], o["id"], o["amount"], o["type"]) for o in body["nearest_operations"]]
    assert sorted(ops) == expected_ops
    assert [o[0] for o in ops] == sorted(o[0] for o in ops)  # earliest first
    assert all(o["description"] == "Loan repayment" for o in body["nearest_operations"])
    owed = sum(round(i["amount"] * 10**8) for i in theirs_plan) / 10**8
    # 50 EUR collateral at 0.001163 BTC/EUR = 0.05815 BTC
    assert body["reserved_money"] == {"credit": owed, "debit": 0.05815, "currency_name": "BTC"}
    assert_ledger_sound(ctx)


async def test_rank_and_rating_follow_kyc(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "k@example.com")
    body = await rpc(client, DASHBOARD, session=sid)
    assert (body["rating"], body["credit_rank"], body["city"]) == (5, 0, False)
    assert body["verification"] == {
        "address": {"status": "not_verified", "points": 0},
        "identity": {"status": "not_verified", "points": 0},
        "phone": {"status": False, "points": 0},
    }
    await verify(client, "k@example.com", "identity", "phone")
    body = await rpc(client, DASHBOARD, session=sid)
    assert body["credit_rank"] == 2 and body["verification"]["phone"] == {
        "status": True,
        "points": 5,
    }


async def test_ten_newest_lines_oldest_first(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "t@example.com")
    for n in range(1, 13):
        await deposit(client, "t@example.com", "EUR", n)
    lines = (await rpc(client, DASHBOARD, session=sid))["transactions"]
    assert [t["credit"] for t in lines] == list(range(3, 13))


async def test_graphic_has_the_seed_shape_and_sums(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "g@example.com")
    empty = await rpc(client, GRAPHIC, session=sid)
    assert graphic_shape(empty)
    assert empty["all_time"] == ZERO and empty["currency_name"] == "BTC"
    with ctx.db.read() as s:
        tz = ZoneInfo(s.scalars(select(User.tz).where(User.login == "g@example.com")).one())
    today = (await clock_now(client)).astimezone(tz).date()
    keys = [(today - timedelta(days=n)).isoformat() for n in range(7, -1, -1)]
    assert list(empty["days"]) == keys

    await deposit(client, "g@example.com", "BTC", "0.000101")
    await deposit(client, "g@example.com", "EUR", 5)
    btc = await wallet(client, sid, "BTC")
    other = await new_user(client, ctx, "o@example.com")
    await deposit(client, "o@example.com", "BTC", 1)
    # a loan from the other user: money in on this wallet (credit), lent money is a debit there
    await verify(client, "g@example.com", "identity", "address", "phone")
    loan_id = await request_loan(client, sid, amount="0.5", currency="BTC", term=1)
    await rpc(client, FUND, {"loan_id": loan_id}, session=other)
    await advance(client, 0)
    body = await rpc(client, GRAPHIC, session=sid)
    assert graphic_shape(body)
    now = (await clock_now(client)).astimezone(tz)
    inflow = {"credit": 0.500101, "debit": 0}
    assert body["all_time"] == body["year"] == body["month"] == body["week"] == inflow
    assert body["days"][now.date().isoformat()] == inflow
    assert sum(d["credit"] for d in body["days"].values()) == 0.500101
    eur = await rpc(client, GRAPHIC, {"currency": "eur"}, session=sid)
    assert eur["all_time"] == {"credit": 5, "debit": 0} and eur["currency_name"] == "EUR"
    gbp = await rpc(client, GRAPHIC, {"currency": "GBP"}, session=sid)  # no such wallet: zeros
    assert gbp["all_time"] == ZERO and all(d == ZERO for d in gbp["days"].values())
    lender_view = await rpc(client, GRAPHIC, session=other)
    assert lender_view["all_time"] == {"credit": 1, "debit": 0.5}
    assert btc["sum"] == 0.000101
    for bad in ("XYZ", 5, ["BTC"]):
        assert await rpc(client, GRAPHIC, {"currency": bad}, session=sid) == {
            "status": "error",
            "field": "currency",
            "message": "Currency is not supported",
        }


async def test_windows_move_with_the_clock(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "w@example.com")
    await deposit(client, "w@example.com", "BTC", "0.25")
    with ctx.db.read() as s:
        tz = ZoneInfo(s.scalars(select(User.tz).where(User.login == "w@example.com")).one())
    then = (await clock_now(client)).astimezone(tz)
    await advance(client, 9 * 24 * 3600)  # past the 8 days and the ISO week
    from tests.nebeus.test_loans import signin

    sid = signin(ctx, "w@example.com")
    body = await rpc(client, GRAPHIC, session=sid)
    now = (await clock_now(client)).astimezone(tz)
    assert all(d == ZERO for d in body["days"].values())
    assert body["week"] == ZERO and body["all_time"] == {"credit": 0.25, "debit": 0}
    same_month = (then.year, then.month) == (now.year, now.month)
    assert body["month"] == ({"credit": 0.25, "debit": 0} if same_month else ZERO)
    assert body["year"] == ({"credit": 0.25, "debit": 0} if then.year == now.year else ZERO)
    assert datetime.now(UTC) < now  # the sandbox clock moved ahead
