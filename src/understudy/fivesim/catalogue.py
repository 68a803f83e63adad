"""Catalogue: countries, operators, products, the price table and live stock (§4.5, §10.3)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from understudy.fivesim.countries import COUNTRIES
from understudy.fivesim.models import FINAL, Country, Number, Operator, Order, Price, Product

HOSTING_HOURS = {"3hours": 3, "1day": 24, "10days": 240, "1month": 720}
USED_STATUSES = ("FINISHED", "BANNED")


def category_of(product: str) -> str:
    """A new product's category by name: the hosting durations, else activation."""
    return "hosting" if product in HOSTING_HOURS else "activation"


def seed(session: Session) -> None:
    """Insert the canonical countries and hosting products that are missing (idempotent)."""
    known = set(session.scalars(select(Country.name)).all())
    session.add_all(
        Country(name=name, iso=iso, prefix=prefix, text_en=en, text_ru=ru)
        for name, iso, prefix, en, ru in COUNTRIES
        if name not in known
    )
    products = set(session.scalars(select(Product.name)).all())
    session.add_all(
        Product(name=name, category="hosting") for name in HOSTING_HOURS if name not in products
    )
    session.flush()


def country(session: Session, *, name: str) -> Country | None:
    """The country with this canonical name."""
    return session.scalar(select(Country).where(Country.name == name))


def product(session: Session, *, name: str) -> Product | None:
    """The product with this name."""
    return session.scalar(select(Product).where(Product.name == name))


def operator_offered(session: Session, *, country: str | None, name: str) -> bool:
    """Whether the operator exists (in that country, or anywhere for None)."""
    stmt = select(Operator.id).where(Operator.name == name)
    if country is not None:
        stmt = stmt.where(Operator.country == country)
    return session.scalar(stmt.limit(1)) is not None


def free_numbers(product: str):  # type: ignore[no-untyped-def]
    """SQL condition: a Number is in no active order and was not used up for the product."""
    active = aliased(Order)
    used = aliased(Order)
    return and_(
        ~exists().where(active.active_number_id == Number.id),
        ~exists().where(
            used.number_id == Number.id,
            used.product == product,
            used.status.in_(USED_STATUSES),
        ),
    )


@dataclass(frozen=True)
class Offer:
    """One priced (country, operator, product) with its free stock."""

    country: str
    operator: str
    product: str
    category: str
    price: int
    count: int


def offers(
    session: Session,
    *,
    country: str | None = None,
    operator: str | None = None,
    product: str | None = None,
) -> list[Offer]:
    """Priced offers (None = any) with the count of free numbers, by country/product/operator."""
    active = aliased(Order)
    used = aliased(Order)
    stock = (
        select(func.count(Number.id))
        .where(
            Number.country == Price.country,
            Number.operator == Price.operator,
            ~exists().where(active.active_number_id == Number.id),
            ~exists().where(
                used.number_id == Number.id,
                used.product == Price.product,
                used.status.in_(USED_STATUSES),
            ),
        )
        .scalar_subquery()
    )
    stmt = select(Price, Product.category, stock).join(Product, Product.name == Price.product)
    if country is not None:
        stmt = stmt.where(Price.country == country)
    if operator is not None:
        stmt = stmt.where(Price.operator == operator)
    if product is not None:
        stmt = stmt.where(Price.product == product)
    stmt = stmt.order_by(Price.country, Price.product, Price.operator)
    return [
        Offer(p.country, p.operator, p.product, category, p.price, int(count or 0))
        for p, category, count in session.execute(stmt).all()
    ]


def countries_with_operators(session: Session) -> list[tuple[Country, dict[str, set[str]]]]:
    """Every country with, per priced operator, the categories offered there."""
    offered: dict[str, dict[str, set[str]]] = {}
    rows = session.execute(
        select(Price.country, Price.operator, Product.category)
        .join(Product, Product.name == Price.product)
        .distinct()
    ).all()
    for country_name, operator_name, category in rows:
        offered.setdefault(country_name, {}).setdefault(operator_name, set()).add(category)
    countries = session.scalars(select(Country).order_by(Country.name)).all()
    return [(c, offered.get(c.name, {})) for c in countries]


def set_stock(
    session: Session,
    *,
    country: Country,
    operator: str,
    product_name: str,
    count: int,
    price: int,
    vendor_id: int,
    now: datetime,
) -> None:
    """Upsert a price and add vendor numbers until `count` are free for the product."""
    if (
        session.scalar(
            select(Operator.id).where(Operator.country == country.name, Operator.name == operator)
        )
        is None
    ):
        session.add(Operator(country=country.name, name=operator))
    if product(session, name=product_name) is None:
        session.add(Product(name=product_name, category=category_of(product_name)))
    row = session.scalar(
        select(Price).where(
            Price.country == country.name,
            Price.operator == operator,
            Price.product == product_name,
        )
    )
    if row is None:
        session.add(
            Price(country=country.name, operator=operator, product=product_name, price=price)
        )
    else:
        row.price = price
    session.flush()
    free = (
        session.scalar(
            select(func.count(Number.id)).where(
                Number.country == country.name,
                Number.operator == operator,
                free_numbers(product_name),
            )
        )
        or 0
    )
    for _ in range(max(0, count - free)):
        session.add(
            Number(
                vendor_id=vendor_id,
                phone=_new_phone(session, country.prefix),
                country=country.name,
                operator=operator,
                created_at=now,
            )
        )
        session.flush()


def _new_phone(session: Session, prefix: str) -> str:
    """A random phone in the country's prefix that no number has yet."""
    while True:
        digits = "9" + "".join(secrets.choice("0123456789") for _ in range(9))
        phone = prefix + digits
        if session.scalar(select(Number.id).where(Number.phone == phone)) is None:
            return phone


def delivery_rates(
    session: Session, *, since: datetime, min_orders: int
) -> dict[tuple[str, str, str], float]:
    """Per (country, operator, product): 100 x FINISHED / ended orders since then (§10.4).

    Offers under `min_orders` ended orders or below 20% are left out.
    """
    finished = func.sum(case((Order.status == "FINISHED", 1), else_=0))
    rows = session.execute(
        select(Order.country, Order.operator, Order.product, func.count(), finished)
        .where(Order.status.in_(FINAL), Order.ended_at >= since)
        .group_by(Order.country, Order.operator, Order.product)
    ).all()
    rates = {}
    for country_name, operator_name, product_name, ended, done in rows:
        rate = round(100 * int(done or 0) / ended, 2)
        if ended >= max(min_orders, 1) and rate >= 20:
            rates[(country_name, operator_name, product_name)] = rate
    return rates
