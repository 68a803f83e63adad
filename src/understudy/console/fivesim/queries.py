"""Read-only queries of the fivesim console: catalogue, users with balances, vendors, orders.

Balances come from the ledger accounts the service keeps (`fivesim:user:<id>:RUB` for buyers,
`fivesim:vendor:<id>:RUB` for vendors' earnings); nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, distinct, func, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from understudy.core import ledger
from understudy.core.db import parse_id
from understudy.fivesim import vendor
from understudy.fivesim.models import (
    ACTIVE,
    FINAL,
    Country,
    Number,
    Operator,
    Order,
    Payment,
    Price,
    Product,
    Sms,
    UsedStock,
    User,
)
from understudy.fivesim.service import CURRENCY

STATUSES = ACTIVE + FINAL
USED_STATUSES = ("FINISHED", "BANNED")


def _page(session: Session, stmt: Select[Any], *, limit: int, offset: int) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return list(session.execute(stmt.limit(limit).offset(offset)).all()), int(total)


# Catalogue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountryRow:
    """A country with its operators, priced offers and idle numbers."""

    name: str
    iso: str
    prefix: str
    text_en: str
    operators: int
    offers: int
    free_numbers: int


def countries(session: Session, *, q: str = "") -> list[CountryRow]:
    """Every country (name or English name containing q), with operators and offers counted."""
    ops = {
        name: (int(n), int(free or 0))
        for name, n, free in session.execute(
            select(Operator.country, func.count(), func.sum(Operator.free_numbers)).group_by(
                Operator.country
            )
        )
    }
    offers = dict(
        session.execute(select(Price.country, func.count()).group_by(Price.country)).all()
    )
    stmt = select(Country).order_by(Country.name)
    if q:
        needle = q.lower()
        stmt = stmt.where(
            or_(
                func.lower(Country.name).contains(needle, autoescape=True),
                func.lower(Country.text_en).contains(needle, autoescape=True),
            )
        )
    return [
        CountryRow(
            c.name,
            c.iso,
            c.prefix,
            c.text_en,
            ops.get(c.name, (0, 0))[0],
            int(offers.get(c.name, 0)),
            ops.get(c.name, (0, 0))[1],
        )
        for c in session.scalars(stmt)
    ]


def country_names(session: Session) -> list[str]:
    """Every canonical country name, alphabetically."""
    return list(session.scalars(select(Country.name).order_by(Country.name)))


@dataclass(frozen=True)
class OperatorRow:
    """An operator of a country with its idle numbers and priced products."""

    country: str
    name: str
    free_numbers: int
    products: int


def operators(
    session: Session, *, q: str, country: str, limit: int, offset: int
) -> tuple[list[OperatorRow], int]:
    """One page of operators (by country, then name) and how many match."""
    priced = (
        select(func.count())
        .where(Price.country == Operator.country, Price.operator == Operator.name)
        .scalar_subquery()
    )
    stmt = select(Operator.country, Operator.name, Operator.free_numbers, priced).order_by(
        Operator.country, Operator.name
    )
    if country:
        stmt = stmt.where(Operator.country == country)
    if q:
        stmt = stmt.where(func.lower(Operator.name).contains(q.lower(), autoescape=True))
    rows, total = _page(session, stmt, limit=limit, offset=offset)
    return [OperatorRow(c, n, int(f or 0), int(p or 0)) for c, n, f, p in rows], total


@dataclass(frozen=True)
class ProductRow:
    """A product with the number of offers and countries it is priced in."""

    name: str
    category: str
    offers: int
    countries: int


def products(session: Session, *, q: str, limit: int, offset: int) -> tuple[list[ProductRow], int]:
    """One page of products by name and how many match."""
    stmt = (
        select(
            Product.name,
            Product.category,
            func.count(Price.id),
            func.count(distinct(Price.country)),
        )
        .outerjoin(Price, Price.product == Product.name)
        .group_by(Product.id, Product.name, Product.category)
        .order_by(Product.name)
    )
    if q:
        stmt = stmt.where(func.lower(Product.name).contains(q.lower(), autoescape=True))
    rows, total = _page(session, stmt, limit=limit, offset=offset)
    return [ProductRow(n, c, int(o), int(k)) for n, c, o, k in rows], total


@dataclass(frozen=True)
class OfferRow:
    """One priced (country, operator, product) with its free stock, as buyers see it."""

    country: str
    operator: str
    product: str
    category: str
    price: int
    count: int


def _offers_stmt() -> Select[Any]:
    """Offers with the stock counters' count (the same sum `catalogue.offer_rows` makes)."""
    count = func.coalesce(Operator.free_numbers, 0) - func.coalesce(UsedStock.count, 0)
    return (
        select(Price.country, Price.operator, Price.product, Product.category, Price.price, count)
        .join(Product, Product.name == Price.product)
        .outerjoin(
            Operator, and_(Operator.country == Price.country, Operator.name == Price.operator)
        )
        .outerjoin(
            UsedStock,
            and_(
                UsedStock.country == Price.country,
                UsedStock.operator == Price.operator,
                UsedStock.product == Price.product,
            ),
        )
    )


def offers(
    session: Session,
    *,
    country: str,
    operator: str,
    product: str,
    limit: int,
    offset: int,
) -> tuple[list[OfferRow], int]:
    """One page of the price table (exact filters; empty = any) and how many match."""
    stmt = _offers_stmt().order_by(Price.country, Price.product, Price.operator)
    if country:
        stmt = stmt.where(Price.country == country)
    if operator:
        stmt = stmt.where(Price.operator == operator)
    if product:
        stmt = stmt.where(Price.product == product)
    rows, total = _page(session, stmt, limit=limit, offset=offset)
    return [OfferRow(*(r[:4]), int(r[4]), int(r[5])) for r in rows], total


def offer(session: Session, *, country: str, operator: str, product: str) -> OfferRow | None:
    """One offer of the price table, or None."""
    rows, _ = offers(
        session, country=country, operator=operator, product=product, limit=1, offset=0
    )
    return rows[0] if rows else None


# Users and vendors --------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    """A user as the console lists it; money from the ledger, in minor units."""

    id: int
    email: str
    vendor: str | None
    rating: int
    blocked_until: datetime | None
    created_at: datetime
    balance: int
    frozen: int

    @property
    def rating_points(self) -> str:
        """The rating in points, as the API shows it."""
        return f"{self.rating / 100:g}"


def _accounts(session: Session, keys: list[str]) -> dict[str, tuple[int, int]]:
    """(balance, held) of these ledger accounts by key (missing ones left out)."""
    if not keys:
        return {}
    rows = session.execute(
        select(ledger.Account.key, ledger.Account.balance, ledger.Account.held).where(
            ledger.Account.key.in_(keys)
        )
    )
    return {key: (int(balance), int(held)) for key, balance, held in rows}


def user_key(user_id: int) -> str:
    """The ledger key of a user's buyer account."""
    return f"fivesim:user:{user_id}:{CURRENCY}"


def vendor_key(user_id: int) -> str:
    """The ledger key of a vendor's earnings account."""
    return f"fivesim:vendor:{user_id}:{CURRENCY}"


def _user_rows(session: Session, users: list[User]) -> list[UserRow]:
    money = _accounts(session, [user_key(u.id) for u in users])
    rows = []
    for u in users:
        balance, held = money.get(user_key(u.id), (0, 0))
        rows.append(
            UserRow(
                u.id,
                u.email,
                u.vendor,
                u.rating,
                u.blocked_until,
                u.created_at,
                balance - held,
                held,
            )
        )
    return rows


def _user_search(q: str) -> Any:
    needle = q.lower()
    conditions = [
        func.lower(User.email).contains(needle, autoescape=True),
        func.lower(User.vendor).contains(needle, autoescape=True),
    ]
    if (ident := parse_id(q)) is not None:
        conditions.append(User.id == ident)
    return or_(*conditions)


def users(
    session: Session, *, q: str, vendors_only: bool = False, limit: int, offset: int
) -> tuple[list[UserRow], int]:
    """One page of users (newest first; e-mail, vendor name or id matching q) and the total."""
    stmt = select(User).order_by(User.id.desc())
    if q:
        stmt = stmt.where(_user_search(q))
    if vendors_only:
        stmt = stmt.where(User.vendor.is_not(None))
    rows, total = _page(session, stmt, limit=limit, offset=offset)
    return _user_rows(session, [r[0] for r in rows]), total


def user(session: Session, *, user_id: int) -> UserRow | None:
    """One user with its balance, or None."""
    found = session.get(User, user_id)
    return None if found is None else _user_rows(session, [found])[0]


@dataclass(frozen=True)
class PaymentRow:
    """A row of a payment history."""

    id: int
    type_name: str
    provider_name: str
    amount: int
    balance: int
    created_at: datetime


def payments(
    session: Session, *, user_id: int, vendor_side: bool, limit: int = 20
) -> list[PaymentRow]:
    """The newest payments of a user (or of its vendor side)."""
    rows = session.scalars(
        select(Payment)
        .where(Payment.user_id == user_id, Payment.vendor.is_(vendor_side))
        .order_by(Payment.id.desc())
        .limit(limit)
    )
    return [
        PaymentRow(p.id, p.type_name, p.provider_name, p.amount, p.balance, p.created_at)
        for p in rows
    ]


@dataclass(frozen=True)
class VendorRow:
    """A vendor: its user, earnings and numbers."""

    user: UserRow
    modem: bool
    earnings: int
    numbers: int


def vendors(session: Session, *, q: str, limit: int, offset: int) -> tuple[list[VendorRow], int]:
    """One page of vendors (newest first) with earnings and number counts, and the total."""
    people, total = users(session, q=q, vendors_only=True, limit=limit, offset=offset)
    ids = [p.id for p in people]
    counts = (
        dict(
            session.execute(
                select(Number.vendor_id, func.count())
                .where(Number.vendor_id.in_(ids))
                .group_by(Number.vendor_id)
            ).all()
        )
        if ids
        else {}
    )
    modems = (
        dict(session.execute(select(User.id, User.modem).where(User.id.in_(ids))).all())
        if ids
        else {}
    )
    earnings = _accounts(session, [vendor_key(i) for i in ids])
    return [
        VendorRow(
            p,
            bool(modems.get(p.id)),
            earnings.get(vendor_key(p.id), (0, 0))[0] - earnings.get(vendor_key(p.id), (0, 0))[1],
            int(counts.get(p.id, 0)),
        )
        for p in people
    ], total


def vendor_row(session: Session, *, user_id: int) -> VendorRow | None:
    """One vendor, or None when the user is missing or no vendor."""
    found = session.get(User, user_id)
    if found is None or found.vendor is None:
        return None
    count = session.scalar(select(func.count()).where(Number.vendor_id == user_id)) or 0
    return VendorRow(
        _user_rows(session, [found])[0],
        found.modem,
        vendor.earnings(session, user_id=user_id),
        int(count),
    )


@dataclass(frozen=True)
class NumberRow:
    """A vendor's number with what it serves and its state."""

    id: int
    phone: str
    country: str
    operator: str
    created_at: datetime
    products: list[str]
    product_count: int
    active_order: int | None
    active_status: str | None
    used_for: list[str]

    @property
    def state(self) -> str:
        """`busy` while in an active order, else `free`."""
        return "busy" if self.active_order is not None else "free"


PRODUCTS_SHOWN = 6


def numbers(
    session: Session, *, vendor_id: int, q: str, limit: int, offset: int
) -> tuple[list[NumberRow], int]:
    """One page of a vendor's numbers (newest first) with products and state, and the total."""
    stmt = select(Number).where(Number.vendor_id == vendor_id).order_by(Number.id.desc())
    if q:
        stmt = stmt.where(
            or_(
                Number.phone.contains(q.lower(), autoescape=True),
                func.lower(Number.country).contains(q.lower(), autoescape=True),
                func.lower(Number.operator).contains(q.lower(), autoescape=True),
            )
        )
    rows, total = _page(session, stmt, limit=limit, offset=offset)
    found = [r[0] for r in rows]
    ids = [n.id for n in found]
    pairs = sorted({(n.country, n.operator) for n in found})
    active: dict[int, tuple[int, str]] = {}
    used: dict[int, list[str]] = defaultdict(list)
    priced: dict[tuple[str, str], list[str]] = defaultdict(list)
    if ids:
        for order_id, number_id, status in session.execute(
            select(Order.id, Order.active_number_id, Order.status).where(
                Order.active_number_id.in_(ids)
            )
        ):
            active[int(number_id)] = (int(order_id), status)
        for number_id, product in session.execute(
            select(Order.number_id, Order.product)
            .where(Order.number_id.in_(ids), Order.status.in_(USED_STATUSES))
            .distinct()
            .order_by(Order.number_id, Order.product)
        ):
            used[int(number_id)].append(product)
        for country, operator, product in session.execute(
            select(Price.country, Price.operator, Price.product)
            .where(tuple_(Price.country, Price.operator).in_(pairs))
            .order_by(Price.product)
        ):
            priced[(country, operator)].append(product)
    result = []
    for n in found:
        offered = priced.get((n.country, n.operator), [])
        order = active.get(n.id)
        result.append(
            NumberRow(
                n.id,
                n.phone,
                n.country,
                n.operator,
                n.created_at,
                offered[:PRODUCTS_SHOWN],
                len(offered),
                order[0] if order else None,
                order[1] if order else None,
                used.get(n.id, []),
            )
        )
    return result, total


# Orders --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRow:
    """An order as the console shows it."""

    id: int
    user_id: int
    email: str
    vendor_id: int
    phone: str
    country: str
    operator: str
    product: str
    category: str
    price: int
    status: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    sms_count: int


def _order_rows(session: Session, stmt: Select[Any], *, limit: int, offset: int) -> Any:
    rows, total = _page(session, stmt, limit=limit, offset=offset)
    ids = [o.id for o, _ in rows]
    counts = (
        dict(
            session.execute(
                select(Sms.order_id, func.count())
                .where(Sms.order_id.in_(ids))
                .group_by(Sms.order_id)
            ).all()
        )
        if ids
        else {}
    )
    return [
        OrderRow(
            o.id,
            o.user_id,
            email,
            o.vendor_id,
            o.phone,
            o.country,
            o.operator,
            o.product,
            o.category,
            o.price,
            o.status,
            o.created_at,
            o.expires_at,
            o.ended_at,
            int(counts.get(o.id, 0)),
        )
        for o, email in rows
    ], total


def orders(
    session: Session,
    *,
    q: str,
    status: str,
    user_id: int | None = None,
    limit: int,
    offset: int,
) -> tuple[list[OrderRow], int]:
    """One page of orders, newest first: by status, buyer, and text (id, phone, product, e-mail)."""
    stmt = select(Order, User.email).join(User, User.id == Order.user_id).order_by(Order.id.desc())
    if status:
        stmt = stmt.where(Order.status == status)
    if user_id is not None:
        stmt = stmt.where(Order.user_id == user_id)
    if q:
        needle = q.lower()
        conditions = [
            Order.phone.contains(needle, autoescape=True),
            func.lower(Order.product).contains(needle, autoescape=True),
            func.lower(User.email).contains(needle, autoescape=True),
            cast(Order.id, String) == q,
        ]
        stmt = stmt.where(or_(*conditions))
    return _order_rows(session, stmt, limit=limit, offset=offset)  # type: ignore[no-any-return]


def order(session: Session, *, order_id: int) -> OrderRow | None:
    """One order, or None."""
    stmt = (
        select(Order, User.email).join(User, User.id == Order.user_id).where(Order.id == order_id)
    )
    rows, _ = _order_rows(session, stmt, limit=1, offset=0)
    return rows[0] if rows else None


@dataclass(frozen=True)
class SmsRow:
    """An SMS of an order."""

    id: int
    created_at: datetime
    date: datetime
    sender: str
    text: str
    code: str


def sms_of(session: Session, *, order_id: int) -> list[SmsRow]:
    """The SMS of an order, oldest first."""
    rows = session.scalars(select(Sms).where(Sms.order_id == order_id).order_by(Sms.id))
    return [SmsRow(s.id, s.created_at, s.date, s.sender, s.text, s.code) for s in rows]
