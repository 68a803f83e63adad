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

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import and_, case, func, or_, select, union_all
from sqlalchemy.orm import Session

from understudy.core import ledger
from understudy.core.money import scale
from understudy.nebeus import banking, card2card, loans, loans_collect, withdrawals
from understudy.nebeus.loans_models import Instalment, Loan, OAuthLink
from understudy.nebeus.models import MoneyAccount, Partner, User

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


def graphic(session: Session, *, user: User, currency: str, now: datetime) -> Graphic:
    """Sums of the posted lines of the user's wallet in `currency` (zeros without one).

    One scan gives all time and the year; the recent windows' bounds cut the last weeks into
    segments that an indexed range scan sums, and each window adds up the segments it covers.
    """
    win = windows(now, user_zone(user.tz))
    recent = [win.month, win.week] + [(s, e) for _, s, e in win.days]
    bounds = sorted({b for period in recent for b in period})
    ins = [0] * (len(bounds) + 1)  # segment k: [bounds[k-1], bounds[k])
    outs = [0] * (len(bounds) + 1)
    totals = [0, 0, 0, 0]  # all time in, out; year in, out
    account = loans.wallet(session, user_id=user.id, currency=currency)
    if account is not None:
        line = ledger.Line
        mine = line.account_id == account.ledger_account_id
        year_start, year_end = win.year
        in_year = (line.created_at >= year_start, line.created_at < year_end)
        row = session.execute(select(*_sums(), *_sums(*in_year)).where(mine)).one()
        totals = [int(v) for v in row]
        segment = case(
            *[(line.created_at < b, k) for k, b in enumerate(bounds)], else_=len(bounds)
        ).label("segment")
        rows = session.execute(
            select(segment, *_sums()).where(mine, line.created_at >= bounds[0]).group_by(segment)
        ).all()
        for k, money_in, money_out in rows:
            ins[k], outs[k] = int(money_in), int(money_out)

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


def held_by_currency(session: Session, *, user_id: int) -> dict[str, int]:
    """Funds on hold on the user's wallets, by currency."""
    rows = session.execute(
        select(MoneyAccount.currency, ledger.Account.held)
        .join(ledger.Account, ledger.Account.id == MoneyAccount.ledger_account_id)
        .where(MoneyAccount.user_id == user_id)
    ).all()
    return {currency: int(held) for currency, held in rows}


def owed_to_lender(session: Session, *, user_id: int) -> dict[str, int]:
    """Unpaid principal + interest owed to the user as lender, by currency."""
    rows = session.execute(
        select(Loan.currency, func.sum(Instalment.amount))
        .join(Instalment, Instalment.loan_id == Loan.id)
        .where(Loan.lender_id == user_id, Instalment.state.in_(loans.UNPAID))
        .group_by(Loan.currency)
    ).all()
    return {currency: int(total) for currency, total in rows}


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
    rows = session.execute(
        select(Instalment, Loan.currency, Loan.borrower_id)
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(
            or_(Loan.borrower_id == user_id, Loan.lender_id == user_id),
            Instalment.state.in_(loans.UNPAID),
        )
        .order_by(Instalment.due_at, Instalment.id)
        .limit(NEAREST)
    ).all()
    return [
        Operation(
            ref=inst.ref,
            due_at=inst.due_at,
            amount=inst.amount,
            currency=currency,
            type="debit" if borrower == user_id else "credit",
        )
        for inst, currency, borrower in rows
    ]


def newest_movements(session: Session, *, user_id: int) -> list[banking.Movement]:
    """The user's newest posted lines, oldest first, with their counterparties.

    A counterparty is the owner of the posting's only other line when that is a user's wallet,
    else the platform (None); a loan disbursement's credit comes from the lender.
    """
    line, posting = ledger.Line, ledger.Posting
    wallets = session.scalars(
        select(MoneyAccount.ledger_account_id).where(MoneyAccount.user_id == user_id)
    ).all()
    if not wallets:
        return []
    newest = [  # per wallet an index range scan, newest first
        select(line.id)
        .where(line.account_id == wallet)
        .order_by(line.created_at.desc(), line.id.desc())
        .limit(NEWEST)
        .subquery()
        for wallet in wallets
    ]
    candidates = union_all(*[select(sub.c.id) for sub in newest])
    rows = session.execute(
        select(line, posting.ref, posting.label)
        .join(posting, posting.id == line.posting_id)
        .where(line.id.in_(candidates))
    ).all()
    rows = sorted(rows, key=lambda r: (r[0].created_at, r[0].id))[-NEWEST:]
    found = [row for row, _, _ in rows]
    postings = {row.posting_id: (ref, label) for row, ref, label in rows}
    # every line of those postings with the partner owning its account (None: platform)
    sides: dict[int, list[tuple[int, Partner | None]]] = {}
    for posting_id, account_id, partner in session.execute(
        select(line.posting_id, line.account_id, Partner)
        .outerjoin(MoneyAccount, MoneyAccount.ledger_account_id == line.account_id)
        .outerjoin(User, User.id == MoneyAccount.user_id)
        .outerjoin(Partner, Partner.id == User.partner_id)
        .where(line.posting_id.in_(list(postings)))
    ):
        sides.setdefault(posting_id, []).append((account_id, partner))
    lenders = loans.disbursement_lenders_by_ref(
        session, [postings[row.posting_id][0] for row in found if row.amount > 0]
    )
    result = []
    for row in found:
        ref, label = postings[row.posting_id]
        others = [p for account, p in sides[row.posting_id] if account != row.account_id]
        counterparty = others[0] if len(others) == 1 else None
        if row.amount > 0 and ref in lenders:
            counterparty = lenders[ref]
        result.append(
            banking.Movement(
                ref=ref,
                label=label,
                currency=row.currency,
                amount=row.amount,
                created_at=row.created_at,
                counterparty=counterparty,
            )
        )
    return result


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


class OAuthSettings(BaseSettings):
    """OAuth client ids per provider (env UNDERSTUDY_NEBEUS_OAUTH_<PROVIDER>_CLIENT_ID)."""

    model_config = SettingsConfigDict(env_prefix="UNDERSTUDY_NEBEUS_OAUTH_", extra="ignore")

    facebook_client_id: str | None = None
    google_client_id: str | None = None
    linkedin_client_id: str | None = None
    paypal_client_id: str | None = None


@lru_cache(maxsize=1)
def oauth_settings() -> OAuthSettings:
    """The process's OAuth settings, read once."""
    return OAuthSettings()


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
    config = oauth_settings()
    result: list[dict[str, object]] = []
    for pid, (name, key, endpoint, scope) in enumerate(PROVIDERS, start=1):
        client_id = getattr(config, f"{key}_client_id")
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
