"""The console's start page: an overview of every enabled service.

Every number comes from one aggregate query (GROUP BY day, status or currency) in one read
unit. Days are bucketed by comparing timestamps with precomputed midnights (a CASE), which
works the same on SQLite and PostgreSQL and honours a time zone's daylight saving changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased
from starlette.requests import Request
from starlette.responses import Response

from understudy.backoffice import models as backoffice
from understudy.backoffice.settings import get_settings as backoffice_settings
from understudy.console.charts import Chart, Series
from understudy.console.pages import ConsolePage, context
from understudy.context import AppContext
from understudy.core.money import UnknownCurrency, scale, to_major
from understudy.fivesim import models as fivesim
from understudy.fivesim.service import CURRENCY as FIVESIM_CURRENCY
from understudy.nebeus import models as nebeus
from understudy.nebeus.loans import UNPAID
from understudy.nebeus.loans_models import Instalment, Loan

DAYS = 14
ORDER_STATUSES = {  # fivesim order statuses and their colours, in the legend's order
    "FINISHED": "#2fb344",
    "RECEIVED": "#206bc4",
    "PENDING": "#4299e1",
    "CANCELED": "#667382",
    "TIMEOUT": "#f59f00",
    "BANNED": "#d63939",
}
LOAN_BOOK = {  # nebeus loan book buckets and their colours
    "active": "#206bc4",
    "late": "#f59f00",
    "repaid": "#2fb344",
    "defaulted": "#d63939",
}


@dataclass(frozen=True)
class Stat:
    """A headline number of a service."""

    key: str
    label: str
    value: int


@dataclass
class Section:
    """One enabled service's headline numbers and charts."""

    service: str
    title: str
    stats: list[Stat]
    charts: list[Chart] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """The last DAYS days up to today in a time zone, and the UTC instants of their midnights."""

    days: list[date]
    bounds: list[datetime]  # DAYS + 1 midnights: each day's start, then tomorrow's

    @classmethod
    def ending(cls, now: datetime, zone: tzinfo) -> Window:
        """The window whose last day is `now`'s date in `zone`."""
        today = now.astimezone(zone).date()
        days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS + 1)]
        bounds = [datetime.combine(d, time(), tzinfo=zone).astimezone(UTC) for d in days]
        return cls(days[:DAYS], bounds)

    @property
    def labels(self) -> list[str]:
        """The days as ISO dates."""
        return [d.isoformat() for d in self.days]

    def contains(self, column: Any) -> ColumnElement[bool]:
        """The column's instant falls in the window (an index on it bounds the scan)."""
        return and_(column >= self.bounds[0], column < self.bounds[-1])

    def day_of(self, column: Any) -> ColumnElement[int]:
        """The index (0..DAYS-1) of the day the column's instant falls in."""
        whens = [(column >= self.bounds[i], i) for i in range(DAYS - 1, 0, -1)]
        return case(*whens, else_=0)


def per_day(
    session: Session,
    window: Window,
    column: Any,
    *,
    total: Any = None,
    key: Any = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> dict[Any, list[int]]:
    """{key: one number per day} over the rows whose `column` falls in the window: the count
    of rows, or the sum of `total`. Without `key`, the only key is None.

    The day (and key) are computed in a subquery and grouped outside it: PostgreSQL would not
    match a GROUP BY expression to its SELECT twin when both carry bound parameters.
    """
    columns = [window.day_of(column).label("day")]
    if key is not None:
        columns.append(key.label("key"))
    if total is not None:
        columns.append(total.label("total"))
    inner = select(*columns).where(window.contains(column), *where).subquery()
    grouped = [inner.c.key, inner.c.day] if key is not None else [inner.c.day]
    number = func.sum(inner.c.total) if total is not None else func.count()
    found: dict[Any, list[int]] = {}
    for row in session.execute(select(number, *grouped).group_by(*grouped)):
        value, *keys, day = row
        found.setdefault(keys[0] if keys else None, [0] * DAYS)[int(day)] = int(value or 0)
    return found


def _count(session: Session, *where: Any, of: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(of).where(*where)) or 0)


def _major(minor: int, currency: str) -> Decimal:
    try:
        return to_major(minor, currency)
    except UnknownCurrency:
        return Decimal(minor)


def _decimals(currency: str) -> int:
    try:
        return scale(currency)
    except UnknownCurrency:
        return 0


def fivesim_section(session: Session, ctx: AppContext) -> Section:
    """Orders by status per day, revenue per day, users, orders today, numbers in stock."""
    order, currency = fivesim.Order, FIVESIM_CURRENCY
    window = Window.ending(ctx.now(session), UTC)
    by_status = per_day(session, window, order.created_at, key=order.status)
    orders = [
        Series(status, by_status[status], color)
        for status, color in ORDER_STATUSES.items()
        if status in by_status
    ]
    orders += [Series(s, v) for s, v in sorted(by_status.items()) if s not in ORDER_STATUSES]
    revenue = per_day(
        session, window, order.ended_at, total=order.price, where=[order.status == "FINISHED"]
    ).get(None, [0] * DAYS)
    in_stock = session.scalar(select(func.coalesce(func.sum(fivesim.Operator.free_numbers), 0)))
    stats = [
        Stat("fivesim-users", "Users", _count(session, of=fivesim.User)),
        Stat("fivesim-orders-today", "Orders today", sum(s.values[-1] for s in orders)),
        Stat("fivesim-numbers-in-stock", "Numbers in stock", int(in_stock or 0)),
    ]
    charts = [
        Chart(
            key="orders",
            title=f"Orders by status per day (last {DAYS} days, UTC)",
            x_title="Day (created)",
            y_title="Orders",
            labels=window.labels,
            series=orders,
            stacked=True,
        ),
        Chart(
            key="revenue",
            title=f"Revenue per day ({currency}, finished orders)",
            x_title="Day (finished)",
            y_title=f"Revenue ({currency})",
            labels=window.labels,
            series=[Series(f"Revenue ({currency})", [_major(v, currency) for v in revenue])],
            decimals=_decimals(currency),
        ),
    ]
    return Section("fivesim", "fivesim", stats, charts)


def backoffice_section(session: Session, ctx: AppContext) -> Section:
    """New members per day in the back office's time zone, members and open tickets."""
    member, ticket = backoffice.Member, backoffice.Ticket
    zone = backoffice_settings().zone
    window = Window.ending(ctx.now(session), zone)
    joined = per_day(session, window, member.created_at).get(None, [0] * DAYS)
    stats = [
        Stat("backoffice-members", "Members", _count(session, of=member)),
        Stat(
            "backoffice-open-tickets",
            "Open tickets",
            _count(session, ticket.status != "Closed", of=ticket),
        ),
    ]
    chart = Chart(
        key="members",
        title=f"New members per day (last {DAYS} days, {zone.key})",
        x_title="Day (signed up)",
        y_title="Members",
        labels=window.labels,
        series=[Series("New members", joined)],
    )
    return Section("backoffice", "backoffice", stats, [chart])


def loan_book(session: Session) -> dict[tuple[str, str], int]:
    """{(bucket, currency): principal in minor units} of disbursed loans.

    active / late: unpaid principal of active loans without / with a late instalment;
    repaid: principal repaid; defaulted: principal written off when the loan defaulted.
    """
    overdue = aliased(Instalment)
    late = exists().where(overdue.loan_id == Loan.id, overdue.state == "late")
    bucket = case((and_(Loan.state == "active", late), "late"), else_=Loan.state)
    unpaid = Instalment.state.in_(UNPAID)
    principal = case(
        (Loan.state == "repaid", Instalment.principal),
        (and_(Loan.state == "active", unpaid), Instalment.principal),
        (and_(Loan.state == "defaulted", Instalment.state == "defaulted"), Instalment.principal),
        else_=0,
    )
    inner = (
        select(
            bucket.label("bucket"),
            Loan.currency.label("currency"),
            principal.label("principal"),
        )
        .join(Instalment, Instalment.loan_id == Loan.id)
        .where(Loan.state.in_(("active", "repaid", "defaulted")))
        .subquery()
    )
    rows = session.execute(
        select(inner.c.bucket, inner.c.currency, func.sum(inner.c.principal)).group_by(
            inner.c.bucket, inner.c.currency
        )
    ).all()
    return {(b, c): int(total) for b, c, total in rows}


def nebeus_section(session: Session, ctx: AppContext) -> Section:
    """The loan book by state and currency, users and KYC items waiting for review."""
    book = loan_book(session)
    currencies = sorted({currency for _, currency in book})
    series = [
        Series(
            state,
            [_major(book.get((state, c), 0), c) for c in currencies],
            color,
        )
        for state, color in LOAN_BOOK.items()
    ]
    stats = [
        Stat("nebeus-users", "Users", _count(session, of=nebeus.User)),
        Stat(
            "nebeus-kyc-waiting",
            "KYC items waiting",
            _count(session, nebeus.Verification.status == "pending", of=nebeus.Verification),
        ),
    ]
    chart = Chart(
        key="loans",
        title="Loan book: principal by state and currency",
        x_title="Currency",
        y_title="Principal (units of each currency)",
        labels=currencies,
        series=series,
        decimals=2,
        label_decimals={c: _decimals(c) for c in currencies},
        note=(
            "Active and late: principal still owed (late: a loan with an instalment past due); "
            "repaid: principal paid back; defaulted: principal unpaid at default."
        ),
    )
    return Section("nebeus", "nebeus", stats, [chart])


SECTIONS: dict[str, Callable[[Session, AppContext], Section]] = {
    "fivesim": fivesim_section,
    "backoffice": backoffice_section,
    "nebeus": nebeus_section,
}


def sections(session: Session, ctx: AppContext) -> list[Section]:
    """The sections of the enabled services, in canonical order."""
    return [SECTIONS[name](session, ctx) for name in ctx.settings.enabled_services]


async def render(page: ConsolePage, request: Request) -> Response:
    """The overview page."""
    ctx = context(request)
    shown = await page.read(request, lambda session: sections(session, ctx))
    return await page.render(
        request, "console/overview.html", title="Overview", pretitle="Console", sections=shown
    )
