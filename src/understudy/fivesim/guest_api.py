"""Guest routes under /v1/guest: countries, products, prices and notifications (no token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session
from starlette.responses import Response

from understudy.context import ContextDep
from understudy.fivesim import catalogue, orders
from understudy.fivesim import errors as e
from understudy.fivesim import prices as prices_cache
from understudy.fivesim.api import run
from understudy.fivesim.errors import FivesimError
from understudy.fivesim.settings import get_settings
from understudy.fivesim.wire import OBJECT, JSONBody, amount, responses, text

router = APIRouter(prefix="/v1", default_response_class=JSONBody)


@router.get("/guest/countries", responses=responses(OBJECT, auth=False))
async def countries(ctx: ContextDep) -> Response:
    """Countries with their operators and what each offers."""

    def work(session: Session, _: None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for country, operators in catalogue.countries_with_operators(session):
            entry: dict[str, Any] = {
                "iso": {country.iso: 1},
                "prefix": {country.prefix: 1},
                "text_en": country.text_en,
                "text_ru": country.text_ru,
            }
            for name in sorted(operators):
                entry[name] = {c: 1 for c in sorted(operators[name])}
            body[country.name] = entry
        return body

    return await run(ctx, None, work, write=False)


@router.get("/guest/products/{country}/{operator}", responses=responses(OBJECT, 400, auth=False))
async def products(ctx: ContextDep, country: str, operator: str) -> Response:
    """Products on offer with their stock and the price a buy would cost."""

    def work(session: Session, _: None) -> dict[str, Any]:
        country_name = None if country == orders.ANY else country
        if country_name is not None and catalogue.country(session, name=country_name) is None:
            raise FivesimError(e.COUNTRY_INCORRECT)
        operator_name = None if operator == orders.ANY else operator
        if operator_name is not None and not catalogue.operator_offered(
            session, country=country_name, name=operator_name
        ):
            raise FivesimError(e.BAD_OPERATOR)
        grouped: dict[str, list[catalogue.Offer]] = {}
        for offer in catalogue.offers(session, country=country_name, operator=operator_name):
            grouped.setdefault(offer.product, []).append(offer)
        body = {}
        for name in sorted(grouped):
            group = grouped[name]
            stocked = [o.price for o in group if o.count > 0]
            body[name] = {
                "Category": group[0].category,
                "Qty": sum(o.count for o in group),
                "Price": amount(min(stocked or [o.price for o in group])),
            }
        return body

    return await run(ctx, None, work, write=False)


@router.get(
    "/guest/prices",
    responses=responses({"type": ["object", "null"]}, auth=False),
)
async def prices(
    ctx: ContextDep,
    country: str | None = Query(default=None),
    product: str | None = Query(default=None),
) -> Response:
    """Prices and stock per country, product and operator (or per product, then country)."""

    def work(session: Session, _: None) -> Response:
        settings = get_settings()
        body = prices_cache.answer(
            session,
            now=ctx.now(session),
            country=text(country),
            product=text(product),
            window_hours=settings.rate_window_hours,
            min_orders=settings.rate_min_orders,
        )
        return Response(body, media_type="application/json")

    # Building the whole table after a stock change takes long: not on the event loop.
    return await run(ctx, None, work, write=False, inline=False)


@router.get("/guest/flash/{lang}", responses=responses(OBJECT, auth=False))
def flash(lang: str) -> Response:
    """The operator-set notification text in English or Russian."""
    settings = get_settings()
    return JSONBody({"text": settings.flash_ru if lang == "ru" else settings.flash_en})
