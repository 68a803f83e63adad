"""The dashboard and its graphic (contract §4.1, §4.2), derived from the ledger, loans, KYC and
the profile. Time windows are cut at local midnights in the user's time zone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    CompoundSelect,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from understudy.core import ledger
from understudy.core.money import scale
from understudy.nebeus import banking, card2card, loans, loans_collect, withdrawals
from understudy.nebeus.loans_models import Instalment, Loan, OAuthLink
from understudy.nebeus.models import MoneyAccount, User
from understudy.nebeus.settings import get_settings

DEFAULT_TZ = "Europe/Madrid"
NEAREST = 5
NEWEST = 10
DAYS = 8  # today and the 7 previous days


# --- time windows -----------------------------------------------------------------------------


def user_zone(name: str | None) -> ZoneInfo:
    """The user's IANA zone (Europe/Madrid when unset or unknown)."""
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) of a local calendar day."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Windows:
    """[start, end) UTC bounds of the graphic's periods."""

    year: tuple[datetime, datetime]
    month: tuple[datetime, datetime]
    week: tuple[datetime, datetime]
    days: list[tuple[str, datetime, datetime]]  # (YYYY-MM-DD, start, end), ascending


def windows(now: datetime, zone: ZoneInfo) -> Windows:
    """The year, calendar month, ISO week and last 8 days around `now` in that zone."""
    today = now.astimezone(zone).date()
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    monday = today - timedelta(days=today.weekday())
    at = lambda d: local_midnight(d, zone)  # noqa: E731
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    return Windows(
        year=(at(date(today.year, 1, 1)), at(date(today.year + 1, 1, 1))),
        month=(at(first), at(next_month)),
        week=(at(monday), at(monday + timedelta(days=7))),
        days=[(d.isoformat(), at(d), at(d + timedelta(days=1))) for d in days],
    )


# --- graphic ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """Money in (credit) and out (debit) over a period, in minor units."""

    credit: int = 0
    debit: int = 0


@dataclass(frozen=True)
class Graphic:
    """The graphic's sums for one wallet."""

    currency: str
    all_time: Flow
    year: Flow
    month: Flow
    week: Flow
    days: list[tuple[str, Flow]]


def _sums(*conditions: Any) -> list[Any]:
    """SUM of money in and SUM of money out of the lines meeting the conditions."""
    line = ledger.Line
    money_in = and_(line.amount > 0, *conditions)
    money_out = and_(line.amount < 0, *conditions)
    return [
        func.coalesce(func.sum(case((money_in, line.amount), else_=0)), 0),
        func.coalesce(func.sum(case((money_out, -line.amount), else_=0)), 0),
    ]


BOUNDS = 4 + DAYS + 1  # month and week start and end, then the days' midnights
TOTALS = -1  # the segment number of the row holding all time and year


@lru_cache(maxsize=1)
def _graphic_statement() -> CompoundSelect:
    """One statement for the whole graphic, built once; bound by user, currency and instants.

    Its first row (segment -1) scans the wallet's lines for all time and the year; the others
    sum the segments [b(k-1), b(k)) that the sorted bounds b0..b12 cut the last weeks into, by
    an indexed range scan. Equal bounds leave empty segments.
    """
    line = ledger.Line
    wallet = (
        select(MoneyAccount.ledger_account_id)
        .where(
            MoneyAccount.user_id == bindparam("user_id"),
            MoneyAccount.currency == bindparam("currency"),
        )
        .scalar_subquery()
    )
    mine = line.account_id == wallet
    bounds = [bindparam(f"b{k}", type_=line.created_at.type) for k in range(BOUNDS)]
    year = (
        line.created_at >= bindparam("year_start", type_=line.created_at.type),
        line.created_at < bindparam("year_end", type_=line.created_at.type),
    )
    totals = select(literal(TOTALS), *_sums(), *_sums(*year)).where(mine)
    segment = case(*[(line.created_at < b, k) for k, b in enumerate(bounds)], else_=BOUNDS)
    recent = (
        select(segment, *_sums(), literal(0), literal(0))
        .where(mine, line.created_at >= bounds[0])
        .group_by(segment)
    )
    return union_all(totals, recent)


def graphic(session: Session, *, user: User, currency: str, now: datetime) -> Graphic:
    """Sums of the posted lines of the user's wallet in `currency` (zeros without one).

    One scan gives all time and the year; the recent windows' bounds cut the last weeks into
    segments that an indexed range scan sums, and each window adds up the segments it covers.
    """
    win = windows(now, user_zone(user.tz))
    bounds = sorted([*win.month, *win.week, *[s for _, s, _ in win.days], win.days[-1][2]])
    ins = [0] * (BOUNDS + 1)  # segment k: [bounds[k-1], bounds[k])
    outs = [0] * (BOUNDS + 1)
    totals = [0, 0, 0, 0]  # all time in, out; year in, out
    params = {"user_id": user.id, "currency": currency}
    params |= {f"b{k}": b for k, b in enumerate(bounds)}
    params |= {"year_start": win.year[0], "year_end": win.year[1]}
    for k, *sums in session.execute(_graphic_statement(), params):
        if k == TOTALS:
            totals = [int(v) for v in sums]
        else:
            ins[k], outs[k] = int(sums[0]), int(sums[1])

    def flow(start: datetime, end: datetime) -> Flow:
        first, last = bounds.index(start) + 1, bounds.index(end)
        return Flow(credit=sum(ins[first : last + 1]), debit=sum(outs[first : last + 1]))

    return Graphic(
        currency=currency,
        all_time=Flow(credit=totals[0], debit=totals[1]),
        year=Flow(credit=totals[2], debit=totals[3]),
        month=flow(*win.month),
        week=flow(*win.week),
        days=[(key, flow(start, end)) for key, start, end in win.days],
    )


# --- dashboard --------------------------------------------------------------------------------


def convert(totals: dict[str, int], target: str, rates: dict[str, Decimal]) -> int:
    """Minor units in several currencies as minor units of `target` at market rates.

    Each currency's total is converted (units per EUR) and rounded half up to the target's
    minor unit, then the results are added.
    """
    total = 0
    for currency, minor in totals.items():
        if not minor:
            continue
        value = Decimal(minor) * rates[target] / rates[currency]
        value = value.scaleb(scale(target) - scale(currency))
        total += int(value.to_integral_value(rounding=ROUND_HALF_UP))
    return total


def held_by_currency(accounts: list[tuple[MoneyAccount, ledger.Balance]]) -> dict[str, int]:
    """Funds on hold on these wallets, by currency."""
    return {account.currency: balance.held for account, balance in accounts}


def owed_to_lender(session: Session, *, user_id: int) -> dict[str, int]:
    """Unpaid principal + interest owed to the user as lender, by currency."""
    rows = session.execute(_owed_statement(), {"user_id": user_id}).all()
    return {currency: int(total) for currency, total in rows}


@lru_cache(maxsize=1)
def _owed_statement() -> Select[Any]:
    """`owed_to_lender`, bound by user_id, built once."""
    return (
        select(Loan.currency, func.sum(Instalment.amount))
        .join(Instalment, Instalment.loan_id == Loan.id)
        .where(
            Loan.lender_id == bindparam("user_id"),
            loans.unindexed(Instalment.state).in_(loans.UNPAID),
        )
        .group_by(Loan.currency)
    )


@dataclass(frozen=True)
class Operation:
    """An upcoming instalment: the user pays it (debit) or receives it (credit)."""

    ref: str
    due_at: datetime
    amount: int
    currency: str
    type: str


def nearest_operations(session: Session, *, user_id: int) -> list[Operation]:
    """The earliest unpaid instalments where the user borrows or lends."""
    rows = session.execute(_nearest_statement(), {"user_id": user_id}).all()
    return [
        Operation(
            ref=ref,
            due_at=due_at,
            amount=amount,
            currency=currency,
            type="debit" if borrower == user_id else "credit",
        )
        for ref, due_at, amount, currency, borrower in rows
    ]


@lru_cache(maxsize=1)
def _nearest_statement() -> Select[Any]:
    """`nearest_operations`, bound by user_id, built once."""
    user_id = bindparam("user_id")
    return (
        select(
            Instalment.ref, Instalment.due_at, Instalment.amount, Loan.currency, Loan.borrower_id
        )
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(
            or_(Loan.borrower_id == user_id, Loan.lender_id == user_id),
            loans.unindexed(Instalment.state).in_(loans.UNPAID),
        )
        .order_by(Instalment.due_at, Instalment.id)
        .limit(NEAREST)
    )


def newest_movements(session: Session, *, wallets: list[int]) -> list[banking.Movement]:
    """The newest posted lines of the user's wallets (ledger account ids), oldest first."""
    return banking.newest(session, wallets=wallets, count=NEWEST)[::-1]


def settle_needed(session: Session, *, user_id: int, now: datetime) -> bool:
    """Whether a timer of the user's withdrawals, card payouts or loans is due."""
    return (
        withdrawals.due_for(session, user_id=user_id, now=now)
        or card2card.due_for(session, user_id=user_id, now=now)
        or loans_collect.due_for(session, user_id=user_id, now=now)
    )


def settle(session: Session, *, user_id: int, now: datetime) -> None:
    """Apply the user's due timers first (lazy), so every figure is current."""
    withdrawals.settle_due(session, user_id=user_id, now=now)
    card2card.settle_due(session, user_id=user_id, now=now)
    loans_collect.settle_due(session, user_id=user_id, now=now)


# --- social networks --------------------------------------------------------------------------


# (dashboard name, provider key, authorize endpoint, scope) as in Odoo's auth_oauth data
PROVIDERS = (
    ("Facebook Graph", "facebook", "https://www.facebook.com/dialog/oauth", "public_profile,email"),
    (
        "Google OAuth2",
        "google",
        "https://accounts.google.com/o/oauth2/auth",
        "https://www.googleapis.com/auth/userinfo.profile",
    ),
    ("LinkedIn", "linkedin", "https://www.linkedin.com/oauth/v2/authorization", "r_liteprofile"),
    ("PayPal", "paypal", "https://www.paypal.com/signin/authorize", "openid email"),
)


def social_networks(session: Session, *, user_id: int, base_url: str) -> list[dict[str, object]]:
    """Each provider: linked or not, and its authorize URL ("" when not configured)."""
    linked = set(session.scalars(select(OAuthLink.provider).where(OAuthLink.user_id == user_id)))
    config = get_settings()
    result: list[dict[str, object]] = []
    for pid, (name, key, endpoint, scope) in enumerate(PROVIDERS, start=1):
        client_id = getattr(config, f"oauth_{key}_client_id")
        link = ""
        if client_id:
            query = {
                "response_type": "token",
                "client_id": client_id,
                "redirect_uri": f"{base_url.rstrip('/')}/auth_oauth/signin",
                "scope": scope,
                "state": json.dumps({"d": "nebeus", "p": pid}),
            }
            link = f"{endpoint}?{urlencode(query)}"
        result.append({"name": name, "connected": key in linked, "auth_link": link})
    return result
