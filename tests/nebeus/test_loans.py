"""P2P loans (contract §9): requests, caps, funding, disbursement, schedules, collection by the
timer on due dates, late marking and daily retries, default, cancellation, every error."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.conftest import ADMIN
from tests.nebeus.helpers import assert_ledger_sound, rpc, signup_params
from tests.nebeus.test_accounts import deposit, wallet
from understudy.context import AppContext
from understudy.core import ledger
from understudy.nebeus.loans import annuity
from understudy.nebeus.models import User, WebSession

CREATE = "/loans/request/create/1.0/json"
REQUESTS = "/loans/requests/1.0/json"
LOANS = "/loans/1.0/json"
GET = "/loans/get/1.0/json"
FUND = "/loans/fund/1.0/json"
CANCEL = "/loans/cancel/1.0/json"
REPAY = "/loans/repay/1.0/json"
TX = "/accounts/transactions/1.0/json"
LOAN_KEYS = [
    "id",
    "state",
    "amount",
    "currency",
    "term",
    "interest_rate",
    "collateral",
    "borrower",
    "lender",
    "borrower_rating",
    "borrower_credit_rank",
    "create_date",
    "funded_date",
    "disbursement_date",
    "outstanding",
]
INSTALMENT_KEYS = ["id", "number", "date", "principal", "interest", "amount", "state", "paid_date"]


async def verify(client: httpx.AsyncClient, login: str, *items: str) -> None:
    """Set KYC items verified as an operator (each is worth 5 rank points)."""
    for item in items:
        status = "verified"
        r = await client.post(
            "/_understudy/nebeus/verification",
            json={"login": login, "item": item, "status": status},
            headers=ADMIN,
        )
        assert r.status_code == 200, r.text


async def borrower(client: httpx.AsyncClient, ctx: AppContext, login: str, rank: int = 3) -> str:
    """A signed-in user with `rank` (2 or 3) from verified KYC items."""
    sid = await new_user(client, ctx, login)
    await verify(client, login, *("identity", "address", "phone")[:rank])
    return sid


async def clock_now(client: httpx.AsyncClient) -> datetime:
    """The sandbox clock."""
    r = await client.get("/_understudy/clock", headers=ADMIN)
    return datetime.fromisoformat(r.json()["now"].replace("Z", "+00:00"))


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    """Move the clock (running due timers)."""
    r = await client.post("/_understudy/clock", json={"advance": seconds}, headers=ADMIN)
    assert r.status_code == 200, r.text


async def advance_to(client: httpx.AsyncClient, wire_date: str, extra: float = 1) -> None:
    """Move the clock just past a wire datetime."""
    target = datetime.strptime(wire_date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    delta = (target - await clock_now(client)).total_seconds() + extra
    await advance(client, max(delta, 0))


def signin(ctx: AppContext, login: str) -> str:
    """A fresh session (sessions die after 7 idle days; the tests move months ahead).

    Made in the database as signin does, without its deliberately slow password check.
    """
    sid = secrets.token_hex(20)
    with ctx.db.write() as s:
        now = ctx.now(s)
        user = s.scalars(select(User).where(User.login == login)).one()
        s.add(WebSession(id=sid, user_id=user.id, created_at=now, last_seen=now))
    return sid


async def new_user(client: httpx.AsyncClient, ctx: AppContext, login: str) -> str:
    """Sign up over the wire; the session is made directly (see `signin`)."""
    assert await rpc(client, "/signup/1.0/json", signup_params(ctx, login)) == {"status": "success"}
    return signin(ctx, login)


async def request_loan(client: httpx.AsyncClient, sid: str, **params: Any) -> int:
    """Create a request; returns its id."""
    body = {"amount": 600, "currency": "EUR", "term": 6, "interest_rate": 12} | params
    answer = await rpc(client, CREATE, body, session=sid)
    assert answer["status"] == "success", answer
    assert list(answer) == ["status", "loan_id"]
    return int(answer["loan_id"])


async def active_loan(
    client: httpx.AsyncClient, ctx: AppContext, prefix: str = "", **params: Any
) -> tuple[str, str, int]:
    """A disbursed loan: (borrower session, lender session, loan id)."""
    b = await borrower(client, ctx, f"{prefix}b@example.com")
    lender = await new_user(client, ctx, f"{prefix}l@example.com")
    await deposit(client, f"{prefix}l@example.com", "EUR", 2000)
    loan_id = await request_loan(client, b, **params)
    funded = await rpc(client, FUND, {"loan_id": loan_id}, session=lender)
    assert funded == {"status": "success", "loan_id": loan_id, "state": "funded"}
    await advance(client, 0)
    return b, lender, loan_id


def test_annuity_schedule() -> None:
    rows = annuity(100_000, 1200, 12)  # 1000.00 at 12 % a year for 12 months
    assert [p + i for p, i in rows[:-1]] == [8885] * 11  # A = 88.85
    assert rows[0] == (7885, 1000)  # interest = 1 % of 1000.00
    assert sum(p for p, _ in rows) == 100_000  # the last absorbs rounding
    assert abs(sum(rows[-1]) - 8885) <= 12  # the last differs by accumulated rounding only
    assert annuity(1000, 0, 3) == [(333, 0), (333, 0), (334, 0)]
    assert annuity(5, 1200, 1) == [(5, 0)]
    for principal, rate, term in [(1, 9999, 36), (123_456_789, 10000, 36), (7, 1, 2)]:
        schedule = annuity(principal, rate, term)
        assert len(schedule) == term and sum(p for p, _ in schedule) == principal
        assert all(p >= 0 and i >= 0 for p, i in schedule)


async def test_request_fund_disburse_and_schedule(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    b = await borrower(client, ctx, "b@example.com")
    await deposit(client, "b@example.com", "BTC", "0.5")
    loan_id = await request_loan(
        client, b, collateral_amount="0.1", collateral_currency="BTC", interest_rate="12.5"
    )
    held = await wallet(client, b, "BTC")
    assert (held["sum"], held["reserved"], held["available"]) == (0.5, 0.1, 0.4)
    lender = await new_user(client, ctx, "l@example.com")
    await deposit(client, "l@example.com", "EUR", 1000)

    listed = await rpc(client, REQUESTS, session=lender)
    assert [x["id"] for x in listed] == [loan_id]
    assert list(listed[0]) == LOAN_KEYS
    assert listed[0]["state"] == "open" and listed[0]["lender"] is False
    assert listed[0]["collateral"] == {"amount": 0.1, "currency": "BTC"}
    assert listed[0]["interest_rate"] == 12.5 and listed[0]["borrower_credit_rank"] == 3
    assert listed[0]["borrower"]["name"] == "User" and listed[0]["borrower"]["country_code"] == "ES"
    assert listed[0]["funded_date"] is False and listed[0]["outstanding"] == 0
    assert await rpc(client, REQUESTS, session=b) == []  # not one's own
    assert await rpc(client, REQUESTS, {"currency": "BTC"}, session=lender) == []

    funded = await rpc(client, FUND, {"loan_id": loan_id}, session=lender)
    assert funded == {"status": "success", "loan_id": loan_id, "state": "funded"}
    # Disbursement is a timer with no delay: the funding hold is posted by the next call that
    # reads the lender's money (or by the sweeper), so the wallet already shows it done.
    eur = await wallet(client, lender, "EUR")
    assert (eur["sum"], eur["reserved"]) == (400, 0)
    assert (await wallet(client, b, "EUR"))["sum"] == 600

    loan = await rpc(client, GET, {"loan_id": loan_id}, session=b)
    assert list(loan) == [*LOAN_KEYS, "instalments"]
    assert loan["state"] == "active" and loan["lender"]["id"] != loan["borrower"]["id"]
    assert loan["disbursement_date"] and loan["funded_date"]
    plan = loan["instalments"]
    assert [list(i) for i in plan] == [INSTALMENT_KEYS] * 6
    assert [i["number"] for i in plan] == [1, 2, 3, 4, 5, 6]
    assert all(len(i["id"]) == 9 and i["state"] == "scheduled" for i in plan)
    assert sum(Decimal(str(i["principal"])) for i in plan) == 600
    # an independent annuity: r = 12.5/1200, A = P·r/(1−(1+r)^−n)
    r = 12.5 / 1200
    payment = round(600 * r / (1 - (1 + r) ** -6), 2)
    assert [i["amount"] for i in plan[:-1]] == [payment] * 5
    assert plan[0]["interest"] == round(600 * r, 2)
    assert loan["outstanding"] == float(sum(Decimal(str(i["amount"])) for i in plan))
    disbursed = datetime.strptime(loan["disbursement_date"], "%Y-%m-%d %H:%M:%S")
    first = datetime.strptime(plan[0]["date"], "%Y-%m-%d %H:%M:%S")
    assert (first.year * 12 + first.month) - (disbursed.year * 12 + disbursed.month) == 1
    assert first.time() == disbursed.time()

    # the seed's two lines: the lender pays "Internal Transfer", the borrower gets it from him
    lender_line = (await rpc(client, TX, session=lender))[0]
    assert (lender_line["type"], lender_line["debit"], lender_line["credit"]) == (
        "Disbursement of a loan",
        600,
        0,
    )
    assert lender_line["partner"] == {"surname": "Transfer", "name": "Internal"}
    borrower_line = (await rpc(client, TX, session=b))[0]
    assert (borrower_line["type"], borrower_line["credit"]) == ("Disbursement of a loan", 600)
    assert borrower_line["partner"] == loan["lender"]
    board = await rpc(client, "/partner/dashboard", session=b)
    assert borrower_line == board["transactions"][-1]  # the statement as the dashboard shows it
    assert_ledger_sound(ctx)

    mine = await rpc(client, LOANS, session=b)
    assert [x["id"] for x in mine] == [loan_id]
    assert await rpc(client, LOANS, {"role": "lender"}, session=b) == []
    assert [x["id"] for x in await rpc(client, LOANS, {"role": "lender"}, session=lender)] == [
        loan_id
    ]
    assert await rpc(client, LOANS, {"state": "open"}, session=lender) == []


async def test_instalments_collected_on_due_dates_then_repaid(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    b, lender, loan_id = await active_loan(client, ctx, term=3, amount=300, interest_rate=0)
    await deposit(client, "b@example.com", "BTC", "0.01")
    plan = (await rpc(client, GET, {"loan_id": loan_id}, session=b))["instalments"]
    assert [i["amount"] for i in plan] == [100, 100, 100]
    await advance_to(client, plan[0]["date"], extra=-5)
    b, lender = signin(ctx, "b@example.com"), signin(ctx, "l@example.com")
    assert (await rpc(client, GET, {"loan_id": loan_id}, session=b))["instalments"][0][
        "state"
    ] == "scheduled"
    await advance(client, 6)
    loan = await rpc(client, GET, {"loan_id": loan_id}, session=b)
    assert loan["instalments"][0]["state"] == "paid" and loan["instalments"][0]["paid_date"]
    assert loan["outstanding"] == 200
    assert (await wallet(client, b, "EUR"))["sum"] == 200
    assert (await wallet(client, lender, "EUR"))["sum"] == 2000 - 300 + 100
    line = (await rpc(client, TX, session=b))[0]
    assert (line["type"], line["debit"]) == ("Loan repayment", 100)
    assert line["partner"]["id"] == loan["lender"]["id"]

    # paying early: the oldest unpaid first
    paid = await rpc(client, REPAY, {"loan_id": loan_id}, session=b)
    assert list(paid) == ["status", "instalment_id"] and paid["instalment_id"] == plan[1]["id"]
    paid = await rpc(client, REPAY, {"loan_id": loan_id}, session=b)
    assert paid["instalment_id"] == plan[2]["id"]
    loan = await rpc(client, GET, {"loan_id": loan_id}, session=lender)
    assert loan["state"] == "repaid" and loan["outstanding"] == 0
    # three instalments on time: 15 + 6 rank points
    assert loan["borrower_credit_rank"] == 4 and loan["borrower_rating"] == 5
    limit = await rpc(client, "/btc/get_buy_limit/1.0/json", session=b)
    assert limit == {"status": "success", "limit": 5000, "currency": "EUR"}  # rank 4, as above
    nothing = await rpc(client, REPAY, {"loan_id": loan_id}, session=b)
    assert nothing == {"status": "error", "field": "loan_id", "message": "Nothing to repay"}
    # the due dates pass without a second collection
    await advance_to(client, plan[2]["date"])
    lender = signin(ctx, "l@example.com")
    assert (await wallet(client, lender, "EUR"))["sum"] == 2000
    with ctx.db.read() as s:
        repayments = s.scalar(select(func.count()).where(ledger.Posting.label == "Loan repayment"))
    assert repayments == 3
    assert_ledger_sound(ctx)


async def test_wallets_and_statement_show_a_due_collection_before_any_loan_call(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    b, lender, loan_id = await active_loan(client, ctx, term=3, amount=300, interest_rate=0)
    plan = (await rpc(client, GET, {"loan_id": loan_id}, session=b))["instalments"]
    await advance_to(client, plan[0]["date"])  # no sweeper runs in these tests
    b, lender = signin(ctx, "b@example.com"), signin(ctx, "l@example.com")
    assert (await wallet(client, lender, "EUR"))["sum"] == 2000 - 300 + 100
    line = (await rpc(client, TX, session=b))[0]
    assert (line["type"], line["debit"]) == ("Loan repayment", 100)
    assert (await wallet(client, b, "EUR"))["sum"] == 200
    assert_ledger_sound(ctx)


async def _drain_wallet(client: httpx.AsyncClient, sid: str, currency: str) -> None:
    """Hold everything the borrower has, as collateral of a small second request."""
    available = (await wallet(client, sid, currency))["available"]
    await request_loan(
        client, sid, amount=1, collateral_amount=available, collateral_currency=currency
    )


async def test_late_retried_daily_then_default_moves_collateral(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    b = await borrower(client, ctx, "b@example.com")
    await deposit(client, "b@example.com", "BTC", "0.2")
    lender = await new_user(client, ctx, "l@example.com")
    await deposit(client, "l@example.com", "EUR", 1000)
    collateral = {"collateral_amount": 0.2, "collateral_currency": "BTC"}
    loan_id = await request_loan(client, b, amount=300, term=2, interest_rate=0, **collateral)
    account_id = (await wallet(client, lender, "EUR"))["id"]
    await rpc(client, FUND, {"loan_id": loan_id, "account_id": account_id}, session=lender)
    await advance(client, 0)
    await _drain_wallet(client, b, "EUR")
    plan = (await rpc(client, GET, {"loan_id": loan_id}, session=b))["instalments"]

    await advance_to(client, plan[0]["date"])
    b, lender = signin(ctx, "b@example.com"), signin(ctx, "l@example.com")
    loan = await rpc(client, GET, {"loan_id": loan_id}, session=b)
    assert loan["instalments"][0]["state"] == "late"
    assert loan["borrower_rating"] == 4 and loan["state"] == "active"
    mail = (await client.get("/_understudy/mail", headers=ADMIN)).json()["messages"]
    late = [m["to"] for m in mail if "is late" in m["subject"]]
    assert sorted(late) == ["b@example.com", "l@example.com"]
    refused = await rpc(client, REPAY, {"loan_id": loan_id}, session=b)
    assert refused == {"status": "error", "message": "Insufficient funds"}

    # a day later it is retried; with money in the wallet it is paid (still counted late)
    await deposit(client, "b@example.com", "EUR", 150)
    await advance(client, 24 * 3600)
    loan = await rpc(client, GET, {"loan_id": loan_id}, session=b)
    assert loan["instalments"][0]["state"] == "paid" and loan["borrower_rating"] == 4

    # the second one stays unpaid for more than 30 days: default
    await advance_to(client, loan["instalments"][1]["date"])
    await advance(client, 30 * 24 * 3600)
    b, lender = signin(ctx, "b@example.com"), signin(ctx, "l@example.com")
    assert (await rpc(client, GET, {"loan_id": loan_id}, session=b))["state"] == "active"
    await advance(client, 24 * 3600)
    loan = await rpc(client, GET, {"loan_id": loan_id}, session=b)
    assert loan["state"] == "defaulted"
    assert [i["state"] for i in loan["instalments"]] == ["paid", "defaulted"]
    assert loan["borrower_rating"] == 1  # 5 − 2 late − 2 for the default
    assert loan["outstanding"] == 0
    assert (await wallet(client, b, "BTC"))["sum"] == 0
    lender_btc = await wallet(client, lender, "BTC")
    assert lender_btc["sum"] == 0.2
    line = (await rpc(client, TX, {"account_id": lender_btc["id"]}, session=lender))[0]
    assert (line["type"], line["credit"]) == ("Collateral transfer", 0.2)
    assert_ledger_sound(ctx)


async def test_cancellation_rules(client: httpx.AsyncClient, ctx: AppContext) -> None:
    b = await borrower(client, ctx, "b@example.com")
    await deposit(client, "b@example.com", "EUR", 50)
    lender = await new_user(client, ctx, "l@example.com")
    await deposit(client, "l@example.com", "EUR", 1000)
    other = await new_user(client, ctx, "o@example.com")
    await deposit(client, "o@example.com", "EUR", 1000)
    loan_id = await request_loan(
        client, b, amount=100, collateral_amount=50, collateral_currency="EUR"
    )
    refused = {"status": "error", "field": "loan_id", "message": "Loan cannot be cancelled"}
    assert await rpc(client, CANCEL, {"loan_id": loan_id}, session=lender) == {
        "status": "error",
        "field": "loan_id",
        "message": "Loan not found",
    }
    await rpc(client, FUND, {"loan_id": loan_id}, session=lender)
    assert await rpc(client, CANCEL, {"loan_id": loan_id}, session=b) == refused  # funded
    assert await rpc(client, CANCEL, {"loan_id": loan_id}, session=lender) == {"status": "success"}
    assert (await wallet(client, lender, "EUR"))["reserved"] == 0
    assert (await rpc(client, GET, {"loan_id": loan_id}, session=b))["state"] == "open"
    assert await rpc(client, CANCEL, {"loan_id": loan_id}, session=lender) == {
        "status": "error",
        "field": "loan_id",
        "message": "Loan not found",
    }  # no longer a party
    await rpc(client, FUND, {"loan_id": loan_id}, session=other)
    await advance(client, 0)
    assert await rpc(client, CANCEL, {"loan_id": loan_id}, session=other) == refused  # active
    assert await rpc(client, CANCEL, {"loan_id": loan_id}, session=b) == refused

    second = await request_loan(client, b, amount=10)
    assert await rpc(client, CANCEL, {"loan_id": second}, session=b) == {"status": "success"}
    assert (await rpc(client, GET, {"loan_id": second}, session=b))["state"] == "cancelled"
    assert await rpc(client, CANCEL, {"loan_id": second}, session=b) == refused
    third = await request_loan(
        client, b, amount=10, collateral_amount=20, collateral_currency="EUR"
    )
    assert (await wallet(client, b, "EUR"))["reserved"] == 70
    await rpc(client, CANCEL, {"loan_id": third}, session=b)
    assert (await wallet(client, b, "EUR"))["reserved"] == 50  # the first loan's collateral
    assert_ledger_sound(ctx)


async def test_caps_by_credit_rank(client: httpx.AsyncClient, ctx: AppContext) -> None:
    low = await borrower(client, ctx, "low@example.com", rank=1)
    small = {"amount": 10, "currency": "EUR", "term": 1, "interest_rate": 1}
    assert await rpc(client, CREATE, small, session=low) == {
        "status": "error",
        "message": "Your credit rank does not allow borrowing",
    }
    b = await borrower(client, ctx, "b@example.com", rank=2)  # cap 500 EUR
    await request_loan(client, b, amount=300)
    over = {"status": "error", "field": "amount", "message": "Amount exceeds your borrowing limit"}
    assert await rpc(client, CREATE, small | {"amount": 200.01}, session=b) == over
    # BTC counts at market rate (0.001163 per EUR): 0.2326 BTC = 200 EUR exactly
    await request_loan(client, b, amount="0.2326", currency="BTC")
    tiny_btc = small | {"amount": "0.00000002", "currency": "BTC"}
    over_btc = await rpc(client, CREATE, tiny_btc, session=b)
    assert over_btc == over
    with ctx.db.read() as s:
        from understudy.nebeus.loans_models import Loan

        assert s.scalar(select(func.count()).select_from(Loan)) == 2


async def test_every_error_and_nothing_moves(client: httpx.AsyncClient, ctx: AppContext) -> None:
    b = await borrower(client, ctx, "b@example.com")
    await deposit(client, "b@example.com", "EUR", 10)
    lender = await new_user(client, ctx, "l@example.com")
    await deposit(client, "l@example.com", "EUR", 50)
    base = {"amount": 100, "currency": "EUR", "term": 3, "interest_rate": 10}

    def err(field: str, message: str) -> dict[str, Any]:
        return {"status": "error", "field": field, "message": message}

    cases = [
        ({}, err("amount", "Amount should be specified")),
        (base | {"currency": "XYZ"}, err("currency", "Currency is not supported")),
        (base | {"currency": None}, err("currency", "Currency should be specified")),
        (base | {"amount": "abc"}, err("amount", "Invalid amount")),
        (base | {"amount": "1.001"}, err("amount", "Invalid amount")),
        (base | {"amount": -5}, err("amount", "Sum must be positive")),
        (base | {"term": None}, err("term", "Term should be specified")),
        (base | {"term": 37}, err("term", "Term is not valid")),
        (base | {"term": 0}, err("term", "Term is not valid")),
        (base | {"term": "x"}, err("term", "Term is not valid")),
        (base | {"interest_rate": None}, err("interest_rate", "Interest rate should be specified")),
        (base | {"interest_rate": 100.5}, err("interest_rate", "Interest rate is not valid")),
        (base | {"interest_rate": -1}, err("interest_rate", "Interest rate is not valid")),
        (base | {"interest_rate": "1.234"}, err("interest_rate", "Interest rate is not valid")),
        (
            base | {"collateral_amount": 5},
            err("collateral_currency", "Collateral currency should be specified"),
        ),
        (
            base | {"collateral_currency": "EUR"},
            err("collateral_amount", "Collateral amount should be specified"),
        ),
        (
            base | {"collateral_amount": 11, "collateral_currency": "EUR"},
            err("collateral_amount", "Insufficient funds"),
        ),
        (
            base | {"collateral_amount": 1, "collateral_currency": "GBP"},
            err("collateral_amount", "Insufficient funds"),
        ),
    ]
    for params, expected in cases:
        assert await rpc(client, CREATE, params, session=b) == expected, params
    ok = await rpc(client, CREATE, base | {"interest_rate": 0}, session=b)
    assert ok["status"] == "success"
    loan_id = ok["loan_id"]

    not_found = err("loan_id", "Loan not found")
    for path in (GET, CANCEL, REPAY):
        assert await rpc(client, path, {"loan_id": loan_id}, session=lender) == not_found
        assert await rpc(client, path, {"loan_id": 99999}, session=b) == not_found
        assert await rpc(client, path, {"loan_id": "x"}, session=b) == not_found
        assert await rpc(client, path, {}, session=b) == err("loan_id", "Loan should be specified")
    assert await rpc(client, FUND, {"loan_id": 99999}, session=lender) == not_found
    assert await rpc(client, FUND, {"loan_id": loan_id}, session=b) == err(
        "loan_id", "You cannot fund your own loan"
    )
    btc = (await wallet(client, lender, "BTC"))["id"]
    assert await rpc(client, FUND, {"loan_id": loan_id, "account_id": btc}, session=lender) == err(
        "account_id", "Account currency does not match the loan"
    )
    foreign = (await wallet(client, b, "EUR"))["id"]
    assert await rpc(
        client, FUND, {"loan_id": loan_id, "account_id": foreign}, session=lender
    ) == err("account_id", "Account not found")
    poor = await rpc(client, FUND, {"loan_id": loan_id}, session=lender)  # 50 < 100
    assert poor == {"status": "error", "message": "Insufficient funds"}
    assert (await rpc(client, GET, {"loan_id": loan_id}, session=b))["state"] == "open"
    assert await rpc(client, REPAY, {"loan_id": loan_id}, session=b) == err(
        "loan_id", "Nothing to repay"
    )
    await deposit(client, "l@example.com", "EUR", 50)
    assert (await rpc(client, FUND, {"loan_id": loan_id}, session=lender))["state"] == "funded"
    third = await new_user(client, ctx, "t@example.com")
    await deposit(client, "t@example.com", "EUR", 500)
    assert await rpc(client, FUND, {"loan_id": loan_id}, session=third) == err(
        "loan_id", "Loan is not open for funding"
    )
    assert (await wallet(client, third, "EUR"))["reserved"] == 0
    await advance(client, 0)
    assert await rpc(client, REPAY, {"loan_id": loan_id}, session=lender) == err(
        "loan_id", "Nothing to repay"
    )
    assert await rpc(client, LOANS, {"role": "x"}, session=b) == err("role", "Role is not valid")
    assert await rpc(client, LOANS, {"state": "x"}, session=b) == err("state", "State is not valid")
    assert await rpc(client, REQUESTS, {"currency": "X"}, session=b) == err(
        "currency", "Currency is not supported"
    )
    assert_ledger_sound(ctx)


async def test_requests_are_paged_oldest_first(client: httpx.AsyncClient, ctx: AppContext) -> None:
    b = await borrower(client, ctx, "b@example.com")
    viewer = await new_user(client, ctx, "v@example.com")
    ids = [await request_loan(client, b, amount=10 + n) for n in range(4)]
    assert [x["id"] for x in await rpc(client, REQUESTS, session=viewer)] == ids
    page = await rpc(client, REQUESTS, {"offset": 1, "limit": 2}, session=viewer)
    assert [x["id"] for x in page] == ids[1:3]
    assert [x["id"] for x in await rpc(client, LOANS, session=b)] == ids[::-1]


async def test_loan_routes_need_a_session(client: httpx.AsyncClient) -> None:
    for path in (CREATE, REQUESTS, LOANS, GET, FUND, CANCEL, REPAY):
        r = await client.post(path, json={"jsonrpc": "2.0", "method": "call", "params": {}})
        assert r.json()["error"]["code"] == 100, path
