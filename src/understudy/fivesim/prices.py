"""GET /v1/guest/prices (§4.5, §10.4): offers with stock and delivery rates, cached as bytes.

The answer is rendered once per catalogue state: an entry is reused while the stock/price
version (`versions`) is unchanged and no ended order has left a rate window since. Any buy,
order end, new number or price change bumps the version in its own transaction, so the next
request sees it. The cache lives in each worker's memory but is keyed by database state, so
several workers stay correct.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from understudy.core.db import UTCDateTime
from understudy.fivesim import catalogue, versions
from understudy.fivesim.models import FINAL, Order
from understudy.fivesim.wire import amount

# The live service's extra windows, in hours: `rate1`, `rate3`, ... `rate720`.
RATE_WINDOWS = (1, 3, 24, 72, 168, 720)
MAX_ENTRIES = 64
MIN_RATE = 20

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Rates:
    """Per offer the rate fields in wire order, and until when they stay true."""

    by_offer: dict[Key, dict[str, float]]
    valid_until: datetime | None


def delivery_rates(session: Session, *, now: datetime, window_hours: int, min_orders: int) -> Rates:
    """`rate` over the configured window, then `rate1`...`rate720`, from ended orders.

    100 x FINISHED / ended orders, 2 decimals; a window under `min_orders` ended orders or
    below 20% is left out.
    """
    windows = [("rate", window_hours)] + [(f"rate{h}", h) for h in RATE_WINDOWS]
    longest = now - timedelta(hours=max(h for _, h in windows))
    columns: list[Any] = []
    oldest: list[Any] = []
    for _, hours in windows:
        inside = Order.ended_at >= now - timedelta(hours=hours)
        columns.append(func.sum(case((inside, 1), else_=0)))
        columns.append(func.sum(case((and_(inside, Order.status == "FINISHED"), 1), else_=0)))
        oldest.append(type_coerce(func.min(case((inside, Order.ended_at))), UTCDateTime()))
    ended = (Order.status.in_(FINAL), Order.ended_at >= longest)
    rows = session.execute(
        select(Order.country, Order.operator, Order.product, *columns)
        .where(*ended)
        .group_by(Order.country, Order.operator, Order.product)
    ).all()
    by_offer: dict[Key, dict[str, float]] = {}
    for country, operator, product, *counts in rows:
        fields = {}
        for index, (name, _) in enumerate(windows):
            total, done = int(counts[2 * index] or 0), int(counts[2 * index + 1] or 0)
            if total and total >= max(min_orders, 1):
                rate = round(100 * done / total, 2)
                if rate >= MIN_RATE:
                    fields[name] = rate
        if fields:
            by_offer[(country, operator, product)] = fields
    # The answer stays true until the oldest ended order of some window slides out of it.
    firsts = session.execute(select(*oldest).where(*ended)).one()
    exits = [
        first + timedelta(hours=hours)
        for first, (_, hours) in zip(firsts, windows, strict=True)
        if first is not None
    ]
    return Rates(by_offer, min(exits) if exits else None)


def build(
    session: Session,
    *,
    now: datetime,
    country: str | None,
    product: str | None,
    window_hours: int,
    min_orders: int,
) -> tuple[Any, datetime | None]:
    """The prices body (None for an unknown filter) and until when it stays true."""
    if (country is not None and catalogue.country(session, name=country) is None) or (
        product is not None and catalogue.product(session, name=product) is None
    ):
        return None, None
    rates = delivery_rates(session, now=now, window_hours=window_hours, min_orders=min_orders)
    by_product = product is not None and country is None
    costs: dict[int, int | float] = {}
    body: dict[str, Any] = {}
    for c, o, p, _, price, count in catalogue.offer_rows(session, country=country, product=product):
        outer, inner = (p, c) if by_product else (c, p)
        cost = costs.get(price)
        if cost is None:
            cost = costs[price] = amount(price)
        entry: dict[str, Any] = {"cost": cost, "count": count}
        extra = rates.by_offer.get((c, o, p))
        if extra:
            entry.update(extra)
        body.setdefault(outer, {}).setdefault(inner, {})[o] = entry
    return body, rates.valid_until


@dataclass(frozen=True)
class _Entry:
    version: tuple[int, int]
    valid_until: datetime | None
    body: bytes


_cache: OrderedDict[tuple[str, str | None, str | None], _Entry] = OrderedDict()
_lock = threading.Lock()


def answer(
    session: Session,
    *,
    now: datetime,
    country: str | None,
    product: str | None,
    window_hours: int,
    min_orders: int,
) -> bytes:
    """The prices answer as JSON bytes, rendered again only when the catalogue changed."""
    version = versions.current(session)
    key = (session.get_bind().engine.url.render_as_string(), country, product)
    with _lock:
        entry = _cache.get(key)
        if entry is not None:
            _cache.move_to_end(key)
    if (
        entry is not None
        and entry.version == version
        and (entry.valid_until is None or now < entry.valid_until)
    ):
        return entry.body
    body, valid_until = build(
        session,
        now=now,
        country=country,
        product=product,
        window_hours=window_hours,
        min_orders=min_orders,
    )
    rendered = orjson.dumps(body)
    with _lock:
        _cache[key] = _Entry(version, valid_until, rendered)
        _cache.move_to_end(key)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return rendered


def clear_cache() -> None:
    """Forget every rendered answer (tests and operators)."""
    with _lock:
        _cache.clear()
