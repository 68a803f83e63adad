"""The dashboard and graphic against a reference written here, from raw rows, after random
histories of deposits, transfers, trades and loans while the clock crosses day, ISO week,
month, year and DST boundaries in several time zones.

The reference buckets each line by its local calendar date (the service cuts UTC bounds at
local midnights), finds counterparties from the posting's other lines, and converts reserved
money with exact fractions.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.nebeus.test_loans_workers import make_user
from understudy.context import AppContext
from understudy.control.reset import wipe_and_seed
from understudy.core import ledger, timers
from understudy.nebeus import banking, dashboard, loans, loans_collect, trading
from understudy.nebeus.dashboard_api import dashboard_body, graphic_body
from understudy.nebeus.loans_models import Instalment, Loan
from understudy.nebeus.models import (
    Country,
    Currency,
    MoneyAccount,
    Partner,
    User,
    Verification,
)
from understudy.services import load_all

ZONES = (
    "Europe/Madrid",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Santiago",  # DST starts at local midnight: that day begins at 01:00
    "Pacific/Chatham",  # +12:45 / +13:45
)
STARTS = (
    datetime(2026, 3, 28, 20, 30, tzinfo=UTC),  # EU summer time begins 29 March
    datetime(2026, 10, 24, 21, 0, tzinfo=UTC),  # EU summer time ends 25 October
    datetime(2026, 10, 31, 22, 0, tzinfo=UTC),  # US DST ends 1 November
    datetime(2026, 4, 4, 12, 0, tzinfo=UTC),  # Sydney DST ends 5 April
    datetime(2026, 9, 5, 20, 0, tzinfo=UTC),  # Santiago DST begins 6 September
    datetime(2026, 12, 27, 9, 0, tzinfo=UTC),  # year end; 2026 has an ISO week 53
    datetime(2027, 2, 26, 18, 0, tzinfo=UTC),  # end of February
)
GAPS = st.sampled_from([0, 59, 3600, 5 * 3600, 86_400, 3 * 86_400, 8 * 86_400, 32 * 86_400])
USERS = 3
KINDS = (loans.COLLECT, loans.DISBURSE)
CURRENCY = st.sampled_from(["EUR", "BTC"])
AMOUNT = st.integers(1, 3_000_000)
WHO = st.integers(0, USERS - 1)

LOAN = st.tuples(
    st.just("loan"),
    WHO,
    st.integers(1, USERS - 1),  # the lender: another user
    CURRENCY,
    st.integers(1, 20_000),
    st.integers(1, 4),
    st.integers(0, 3000),
    st.one_of(st.none(), st.tuples(CURRENCY, st.integers(1, 500_000))),
    st.sampled_from([True, True, True, False]),  # funded
)
STEP = st.one_of(
    st.tuples(st.just("deposit"), WHO, CURRENCY, AMOUNT),
    st.tuples(st.just("transfer"), WHO, WHO, CURRENCY, st.sampled_from([10, 50, 100])),  # %
    st.tuples(st.just("buy"), WHO, AMOUNT, AMOUNT),
    st.tuples(st.just("sell"), WHO, AMOUNT, AMOUNT),
    LOAN,
    LOAN,
    st.tuples(st.just("repay"), WHO),
)
FUNDS = st.lists(st.tuples(st.integers(0, 500_000), st.integers(0, 10**8)), min_size=3, max_size=3)
HISTORY = st.lists(st.tuples(GAPS, st.integers(0, 7200), STEP), min_size=4, max_size=12)


# --- the service side -------------------------------------------------------------------------


def _wallet(s: Session, uid: int, currency: str) -> MoneyAccount:
    account = loans.wallet(s, user_id=uid, currency=currency)
    assert account is not None
    return account


def _apply(s: Session, step: tuple[Any, ...], users: list[int], now: datetime) -> None:
    kind = step[0]
    if kind == "deposit":
        _, who, currency, amount = step
        banking.deposit(s, user_id=users[who], currency=currency, amount=amount, now=now)
    elif kind == "transfer":
        _, who, to, currency, percent = step
        recipient = s.get(User, users[to])
        assert recipient is not None
        source = _wallet(s, users[who], currency)
        amount = banking.available(s, account=source) * percent // 100
        if amount <= 0:
            return
        banking.transfer(
            s,
            user_id=users[who],
            debit_from=source,
            recipient=recipient,
            amount=amount,
            now=now,
        )
    elif kind == "buy":
        _, who, btc, eur = step
        trading.buy(
            s,
            user_id=users[who],
            btc_account=_wallet(s, users[who], "BTC"),
            btc=btc,
            eur=eur,
            eur_wallet=_wallet(s, users[who], "EUR"),
            now=now,
        )
    elif kind == "sell":
        _, who, btc, eur = step
        trading.sell(
            s,
            user_id=users[who],
            btc_account=_wallet(s, users[who], "BTC"),
            eur_account=_wallet(s, users[who], "EUR"),
            btc=btc,
            eur=eur,
            now=now,
        )
    elif kind == "loan":
        _, who, other, currency, amount, term, rate_bp, collateral, funded = step
        lender = (who + other) % len(users)
        loan = loans.create_request(
            s,
            user_id=users[who],
            amount=amount,
            currency=currency,
            term=term,
            rate_bp=rate_bp,
            collateral=(collateral[1], collateral[0]) if collateral else None,
            now=now,
        )
        if funded:
            loans.fund(s, user_id=users[lender], loan_id=loan.id, account_id=None, now=now)
    elif kind == "repay":
        _, who = step
        active = loans.loans_of(s, user_id=users[who], role="borrower", state="active")
        if active:
            loans_collect.repay(s, user_id=users[who], loan_id=active[-1].id, now=now)


REFUSED = (banking.BankingError, loans.LoanError, ledger.InsufficientFunds)


def _run(
    ctx: AppContext,
    history: list[Any],
    zones: list[str],
    funds: list[tuple[int, int]],
    start: datetime,
) -> datetime:
    """Play the history through the domain layer with an explicit clock; returns the end."""
    wipe_and_seed(ctx, load_all())
    with ctx.db.write() as s:
        users = []
        for n in range(USERS):
            user = make_user(s, f"u{n}@example.com", start, verified=True)
            user.tz = zones[n]
            users.append(user.id)
            for currency, amount in zip(("EUR", "BTC"), funds[n], strict=True):
                if amount:
                    banking.deposit(s, user_id=user.id, currency=currency, amount=amount, now=start)
        s.execute(update(Partner).where(Partner.email == "u0@example.com").values(city="Vigo"))
        # the third user is verified for identity and address only: rank 2
        s.execute(
            update(Verification)
            .where(Verification.user_id == users[2], Verification.item == "phone")
            .values(status="not_verified")
        )
    now = start
    for gap, jitter, step in history:
        now += timedelta(seconds=gap + jitter)
        timers.run_due(ctx.db, lambda _s, at=now: at, limit=10_000, kinds=KINDS)
        try:
            with ctx.db.write() as s:
                _apply(s, step, users, now)
        except REFUSED:
            pass  # rolled back: nothing moved
    return now


# --- the reference ----------------------------------------------------------------------------


def _wire(minor: int, currency: str) -> int | float:
    places = 8 if currency == "BTC" else 2
    value = Fraction(minor, 10**places)
    return int(value) if value.denominator == 1 else float(Decimal(minor) / 10**places)


def _flows(amounts: list[int], currency: str) -> dict[str, int | float]:
    credit = sum(a for a in amounts if a > 0)
    debit = -sum(a for a in amounts if a < 0)
    return {"credit": _wire(credit, currency), "debit": _wire(debit, currency)}


class Rows:
    """Every row the reference needs, read plainly."""

    def __init__(self, s: Session) -> None:
        self.users = {u.id: u for u in s.scalars(select(User))}
        self.partners = {p.id: p for p in s.scalars(select(Partner))}
        self.countries = {c.id: c for c in s.scalars(select(Country))}
        currencies = list(s.scalars(select(Currency)))
        self.rates = {c.name: Fraction(Decimal(c.rate)) for c in currencies}
        self.rate_numbers = {
            c.name: int(Fraction(c.rate)) if Fraction(c.rate).denominator == 1 else float(c.rate)
            for c in currencies
        }
        self.wallets = list(s.scalars(select(MoneyAccount).order_by(MoneyAccount.id)))
        self.lines = list(s.scalars(select(ledger.Line)))
        self.postings = {p.id: p for p in s.scalars(select(ledger.Posting))}
        self.holds = list(s.scalars(select(ledger.Hold)))
        self.loans = {loan.id: loan for loan in s.scalars(select(Loan))}
        self.instalments = list(s.scalars(select(Instalment)))
        self.kyc = {(v.user_id, v.item): v.status for v in s.scalars(select(Verification))}
        self.owner = {w.ledger_account_id: w.user_id for w in self.wallets}


def reference_graphic(rows: Rows, uid: int, currency: str, now: datetime) -> dict[str, Any]:
    zone = ZoneInfo(rows.users[uid].tz)
    today = now.astimezone(zone).date()
    wallet = next((w for w in rows.wallets if w.user_id == uid and w.currency == currency), None)
    mine = [
        (line.created_at.astimezone(zone).date(), line.amount)
        for line in rows.lines
        if wallet is not None and line.account_id == wallet.ledger_account_id
    ]

    def within(test: Any) -> dict[str, int | float]:
        return _flows([a for d, a in mine if test(d)], currency)

    days = [today - timedelta(days=n) for n in range(7, -1, -1)]
    return {
        "all_time": within(lambda d: True),
        "days": {day.isoformat(): within(lambda d, day=day: d == day) for day in days},
        "month": within(lambda d: (d.year, d.month) == (today.year, today.month)),
        "week": within(lambda d: d.isocalendar()[:2] == today.isocalendar()[:2]),
        "year": within(lambda d: d.year == today.year),
        "currency_name": currency,
    }


def _card(rows: Rows, uid: int) -> dict[str, Any]:
    partner = rows.partners[rows.users[uid].partner_id]
    country = rows.countries.get(partner.country_id)  # type: ignore[arg-type]
    return {
        "surname": partner.surname,
        "name": partner.name,
        "id": partner.id,
        "country_code": country.code if country else False,
    }


def _to_main(rows: Rows, totals: dict[str, int], main: str = "BTC") -> int | float:
    minor = 0
    for currency, amount in totals.items():
        places = 8 if currency == "BTC" else 2
        value = Fraction(amount, 10**places) / rows.rates[currency] * rows.rates[main] * 10**8
        minor += int(value + Fraction(1, 2)) if value > 0 else 0  # half up
    return _wire(minor, main)


def reference_dashboard(rows: Rows, uid: int) -> dict[str, Any]:
    user = rows.users[uid]
    partner = rows.partners[user.partner_id]
    country = rows.countries[partner.country_id]  # type: ignore[index]
    status = {i: rows.kyc.get((uid, i), "not_verified") for i in ("identity", "address", "phone")}
    borrowed = [i for i in rows.instalments if rows.loans[i.loan_id].borrower_id == uid]
    on_time = sum(1 for i in borrowed if i.state == "paid" and i.late_at is None)
    late = sum(1 for i in borrowed if i.late_at is not None)
    defaulted = sum(
        1 for loan in rows.loans.values() if loan.borrower_id == uid and loan.state == "defaulted"
    )
    points = {k: 5 if v == "verified" else 0 for k, v in status.items()}
    rank_points = max(0, sum(points.values()) + 2 * on_time - 2 * late)

    wallets = [w for w in rows.wallets if w.user_id == uid]
    mine = {w.ledger_account_id: w for w in wallets}
    sums: dict[int, int] = defaultdict(int)
    for line in rows.lines:
        sums[line.account_id] += line.amount
    own_lines = sorted(
        (line for line in rows.lines if line.account_id in mine),
        key=lambda line: (line.created_at, line.id),
    )[-10:]
    disbursed = {
        loan.disbursement_posting_id: loan.lender_id
        for loan in rows.loans.values()
        if loan.disbursement_posting_id is not None
    }

    def partner_of(line: ledger.Line) -> dict[str, Any]:
        if line.amount > 0 and line.posting_id in disbursed:
            return _card(rows, disbursed[line.posting_id])  # type: ignore[arg-type]
        others = [
            o.account_id
            for o in rows.lines
            if o.posting_id == line.posting_id and o.account_id != line.account_id
        ]
        if len(others) == 1 and others[0] in rows.owner:
            return _card(rows, rows.owner[others[0]])
        return {"surname": "Transfer", "name": "Internal"}

    transactions = [
        {
            "credit": _wire(max(line.amount, 0), line.currency),
            "currency": line.currency,
            "date": line.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "debit": _wire(max(-line.amount, 0), line.currency),
            "id": rows.postings[line.posting_id].ref,
            "partner": partner_of(line),
            "type": rows.postings[line.posting_id].label,
        }
        for line in own_lines
    ]
    unpaid = sorted(
        (
            i
            for i in rows.instalments
            if i.state in ("scheduled", "late")
            and uid in (rows.loans[i.loan_id].borrower_id, rows.loans[i.loan_id].lender_id)
        ),
        key=lambda i: (i.due_at, i.id),
    )
    held: dict[str, int] = defaultdict(int)
    for hold in rows.holds:
        if hold.state == "pending" and hold.account_id in mine:
            held[mine[hold.account_id].currency] += hold.amount
    owed: dict[str, int] = defaultdict(int)
    for i in unpaid:
        loan = rows.loans[i.loan_id]
        if loan.lender_id == uid:
            owed[loan.currency] += i.amount
    return {
        "name": partner.name,
        "surname": partner.surname,
        "city": partner.city or False,
        "country_name": country.name,
        "country_code": country.code,
        "rating": max(0, min(5, 5 - late - 2 * defaulted)),
        "credit_rank": min(5, rank_points // 5),
        "verification": {
            "address": {"status": status["address"], "points": points["address"]},
            "identity": {"status": status["identity"], "points": points["identity"]},
            "phone": {"status": status["phone"] == "verified", "points": points["phone"]},
        },
        "social_networks": [
            {"name": n, "connected": False, "auth_link": ""}
            for n in ("Facebook Graph", "Google OAuth2", "LinkedIn", "PayPal")
        ],
        "default_currency": {"rate": 1, "name": "EUR"},
        "accounts": [
            {
                "acc_number": w.acc_number,
                "currency": {"rate": rows.rate_numbers[w.currency], "name": w.currency},
                "sum": _wire(sums[w.ledger_account_id], w.currency),
            }
            for w in wallets
        ],
        "transactions": transactions,
        "nearest_operations": [
            {
                "amount": _wire(i.amount, rows.loans[i.loan_id].currency),
                "date": i.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "description": "Loan repayment",
                "id": i.ref,
                "type": "debit" if rows.loans[i.loan_id].borrower_id == uid else "credit",
            }
            for i in unpaid[:5]
        ],
        "reserved_money": {
            "credit": _to_main(rows, owed),
            "debit": _to_main(rows, held),
            "currency_name": "BTC",
        },
    }


# --- the property -----------------------------------------------------------------------------


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=HISTORY,
    zones=st.lists(st.sampled_from(ZONES), min_size=USERS, max_size=USERS),
    funds=FUNDS,
    start=st.sampled_from(STARTS),
    end_gap=GAPS,
)
@example(  # a loan that goes late, is retried, then defaults over a year end in Sydney
    history=[
        (0, 0, ("loan", 0, 1, "EUR", 10_000, 3, 1200, ("BTC", 1000), True)),
        (60, 0, ("transfer", 0, 2, "EUR", 100)),
        (32 * 86_400, 0, ("deposit", 2, "BTC", 5)),
        (3 * 86_400, 0, ("deposit", 2, "EUR", 3400)),
        (32 * 86_400, 0, ("deposit", 1, "EUR", 7)),
    ],
    zones=["Australia/Sydney", "Asia/Kolkata", "Europe/Madrid"],
    funds=[(0, 10**6), (500_000, 0), (0, 0)],
    start=STARTS[5],
    end_gap=8 * 86_400,
)
@example(  # two loans repaid on time across the EU spring change; a Santiago midnight gap
    history=[
        (0, 0, ("loan", 1, 1, "BTC", 20_000, 1, 0, None, True)),
        (0, 0, ("loan", 0, 2, "EUR", 9000, 2, 2400, ("EUR", 100), True)),
        (3600, 0, ("repay", 0)),
        (5 * 3600, 10, ("buy", 2, 5000, 700)),
        (32 * 86_400, 0, ("sell", 1, 100, 2)),
    ],
    zones=["Europe/Madrid", "America/Santiago", "Pacific/Chatham"],
    funds=[(100_000, 0), (0, 10**7), (50_000, 10**6)],
    start=STARTS[0],
    end_gap=86_400,
)
def test_dashboard_and_graphic_match_the_reference(
    ctx: AppContext,
    history: list[Any],
    zones: list[str],
    funds: list[tuple[int, int]],
    start: datetime,
    end_gap: int,
) -> None:
    now = _run(ctx, history, zones, funds, start) + timedelta(seconds=end_gap)
    timers.run_due(ctx.db, lambda _s: now, limit=10_000, kinds=KINDS)
    with ctx.db.write() as s:
        ids = sorted(s.scalars(select(User.id)))
        served = {}
        for uid in ids:
            dashboard.settle(s, user_id=uid, now=now)
            user = s.get(User, uid)
            assert user is not None
            served[uid] = (
                dashboard_body(s, user=user, base_url="http://testserver"),
                {c: graphic_body(s, user=user, currency=c, now=now) for c in ("BTC", "EUR", "GBP")},
            )
    with ctx.db.read() as s:
        rows = Rows(s)
        assert ledger.verify(s) == []
    for uid in ids:
        body, graphics = served[uid]
        expected = reference_dashboard(rows, uid)
        for key in expected:
            assert body[key] == expected[key], (uid, key)
        assert list(body) == list(expected)
        for currency, graphic in graphics.items():
            assert graphic == reference_graphic(rows, uid, currency, now), (uid, currency)


def test_reference_sees_dst_days() -> None:
    """The reference's own premise: local days near DST changes are 23 or 25 hours long."""
    madrid = ZoneInfo("Europe/Madrid")
    spring = dashboard.local_midnight(date(2026, 3, 30), madrid) - dashboard.local_midnight(
        date(2026, 3, 29), madrid
    )
    assert spring == timedelta(hours=23)
    santiago = ZoneInfo("America/Santiago")
    first = dashboard.local_midnight(date(2026, 9, 6), santiago)
    assert first.astimezone(santiago).hour == 1  # no local midnight that day
