"""Catalogue: countries, operators, products, the price table and live stock (§4.5, §10.3)."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.orm import Session, aliased

from understudy.fivesim import stock, versions
from understudy.fivesim.countries import COUNTRIES
from understudy.fivesim.models import Country, Number, Operator, Order, Price, Product, UsedStock

HOSTING_HOURS = {"3hours": 3, "1day": 24, "10days": 240, "1month": 720}
USED_STATUSES = ("FINISHED", "BANNED")
# Built once: constructing an alias costs more than the queries that use it.
_ACTIVE = aliased(Order, name="active_order")
_USED = aliased(Order, name="used_order")


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
    versions.seed(session)


def storable(*names: str | None) -> bool:
    """Whether these names can be looked up at all (PostgreSQL text never holds NUL)."""
    return not any(name is not None and "\x00" in name for name in names)


def country(session: Session, *, name: str) -> Country | None:
    """The country with this canonical name."""
    if not storable(name):
        return None
    return session.scalar(select(Country).where(Country.name == name))


def product(session: Session, *, name: str) -> Product | None:
    """The product with this name."""
    if not storable(name):
        return None
    return session.scalar(select(Product).where(Product.name == name))


def operator_offered(session: Session, *, country: str | None, name: str) -> bool:
    """Whether the operator exists (in that country, or anywhere for None)."""
    if not storable(country, name):
        return False
    stmt = select(Operator.id).where(Operator.name == name)
    if country is not None:
        stmt = stmt.where(Operator.country == country)
    return session.scalar(stmt.limit(1)) is not None


def free_numbers(product: str):  # type: ignore[no-untyped-def]
    """SQL condition: a Number is in no active order and was not used up for the product."""
    active, used = _ACTIVE, _USED
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
    rows = offer_rows(session, country=country, operator=operator, product=product)
    return [Offer(*row) for row in rows]


OfferRow = tuple[str, str, str, str, int, int]


def offer_rows(
    session: Session,
    *,
    country: str | None = None,
    operator: str | None = None,
    product: str | None = None,
) -> list[OfferRow]:
    """Offers as plain (country, operator, product, category, price, count) tuples.

    The count comes from the stock counters (fivesim.stock): one query whatever the stock.
    """
    stmt = _offers_query(country is not None, operator is not None, product is not None)
    params = {"country": country, "operator": operator, "product": product}
    return [tuple(row) for row in session.connection().execute(stmt, params)]  # type: ignore[misc]


@functools.cache
def _offers_query(by_country: bool, by_operator: bool, by_product: bool):  # type: ignore[no-untyped-def]
    """The statement of `offer_rows` (built once per shape: building costs more than running)."""
    prices = Price.__table__
    operators = Operator.__table__
    used = UsedStock.__table__
    products = Product.__table__
    count = func.coalesce(operators.c.free_numbers, 0) - func.coalesce(used.c.count, 0)
    stmt = (
        select(
            prices.c.country,
            prices.c.operator,
            prices.c.product,
            products.c.category,
            prices.c.price,
            count,
        )
        .join(products, products.c.name == prices.c.product)
        .outerjoin(
            operators,
            and_(operators.c.country == prices.c.country, operators.c.name == prices.c.operator),
        )
        .outerjoin(
            used,
            and_(
                used.c.country == prices.c.country,
                used.c.operator == prices.c.operator,
                used.c.product == prices.c.product,
            ),
        )
    )
    if by_country:
        stmt = stmt.where(prices.c.country == bindparam("country"))
    if by_operator:
        stmt = stmt.where(prices.c.operator == bindparam("operator"))
    if by_product:
        stmt = stmt.where(prices.c.product == bindparam("product"))
    return stmt.order_by(prices.c.country, prices.c.product, prices.c.operator)


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
    versions.touch(session)
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
    missing = max(0, count - free)
    for _ in range(missing):
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
    stock.added(session, [(country.name, operator)] * missing)


def _new_phone(session: Session, prefix: str) -> str:
    """A random phone in the country's prefix that no number has yet."""
    while True:
        digits = "9" + "".join(secrets.choice("0123456789") for _ in range(9))
        phone = prefix + digits
        if session.scalar(select(Number.id).where(Number.phone == phone)) is None:
            return phone
