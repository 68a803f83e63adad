"""Catalogue pages: countries, operators, products, and the price table with stock."""

from __future__ import annotations

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import Response

from understudy.console.fivesim import queries
from understudy.console.fivesim.base import FivesimPage
from understudy.console.fivesim.forms import PriceForm, minor_of
from understudy.console.fivesim.money import rub
from understudy.console.pages import FormError, Pager, context
from understudy.fivesim import catalogue
from understudy.fivesim.service import sandbox_vendor


class CountriesPage(FivesimPage):
    """5sim's canonical countries (fixed by the API) with their operators and offers."""

    name = "Countries"
    icon = "fa-solid fa-earth-europe"

    @expose("/fivesim/countries", identity="fivesim-countries")
    async def countries(self, request: Request) -> Response:
        """Every country; offers and operators appear when a price is set there."""
        pager = Pager(request, size=1000)
        rows = await self.read(request, lambda s: queries.countries(s, q=pager.q))
        pager.total = len(rows)
        return await self.show(request, "countries.html", rows=rows, pager=pager)


class OperatorsPage(FivesimPage):
    """Operators per country with their idle numbers."""

    name = "Operators"
    icon = "fa-solid fa-tower-cell"

    @expose("/fivesim/operators", identity="fivesim-operators")
    async def operators(self, request: Request) -> Response:
        """Operators, filtered by country and name."""
        pager = Pager(request)
        country = request.query_params.get("country", "").strip()[:50]
        rows, pager.total = await self.read(
            request,
            lambda s: queries.operators(
                s, q=pager.q, country=country, limit=pager.size, offset=pager.offset
            ),
        )
        return await self.show(request, "operators.html", rows=rows, pager=pager, country=country)


class ProductsPage(FivesimPage):
    """Products (activation or hosting) and where they are offered."""

    name = "Products"
    icon = "fa-solid fa-boxes-stacked"

    @expose("/fivesim/products", identity="fivesim-products")
    async def products(self, request: Request) -> Response:
        """Products by name."""
        pager = Pager(request)
        rows, pager.total = await self.read(
            request,
            lambda s: queries.products(s, q=pager.q, limit=pager.size, offset=pager.offset),
        )
        return await self.show(request, "products.html", rows=rows, pager=pager)


class PricesPage(FivesimPage):
    """The price table: price and free stock per country, operator and product."""

    name = "Prices & stock"
    icon = "fa-solid fa-tags"

    @expose("/fivesim/prices", identity="fivesim-prices")
    async def prices(self, request: Request) -> Response:
        """Offers, filtered exactly by country, operator and product."""
        pager = Pager(request)
        query = request.query_params
        filters = {
            key: query.get(key, "").strip()[:50] for key in ("country", "operator", "product")
        }
        rows, pager.total = await self.read(
            request,
            lambda s: queries.offers(s, **filters, limit=pager.size, offset=pager.offset),
        )
        return await self.show(request, "prices.html", rows=rows, pager=pager, filters=filters)

    @expose("/fivesim/prices/set", methods=["GET", "POST"], identity="fivesim-price-set")
    async def set_price(self, request: Request) -> Response:
        """Set an offer's price and top up its free numbers (as the control plane's `stock`)."""
        query = request.query_params
        key = {
            name: query.get(name, "").strip()[:50] for name in ("country", "operator", "product")
        }
        current = None
        if all(key.values()):
            current = await self.read(request, lambda s: queries.offer(s, **key))
        defaults = dict(key)
        if current is not None:
            defaults.update(price=rub(current.price), count=current.count)
        form = await self.form(request, PriceForm, **defaults)
        if request.method == "POST" and form.validate():
            try:
                result = await self._set(request, form)
            except FormError as exc:
                exc.attach(form)
            else:
                message = (
                    f"{result.country}/{result.operator}/{result.product}: price "
                    f"{rub(result.price)} RUB, {result.count} free."
                )
                table = URL(self.url(request, "fivesim-prices")).include_query_params(
                    country=result.country, operator=result.operator, product=result.product
                )
                return self.done(request, message, str(table))
        names = await self.read(request, queries.country_names)
        return await self.show(
            request, "price_set.html", form=form, current=current, countries=names
        )

    async def _set(self, request: Request, form: PriceForm) -> queries.OfferRow:
        country_name = (form.country.data or "").strip()
        operator, product = form.operator.data, form.product.data
        price, count = minor_of(form.price), int(form.count.data or 0)
        ctx = context(request)

        def work(session: Session) -> queries.OfferRow:
            country = catalogue.country(session, name=country_name)
            if country is None:
                raise FormError("Unknown country: use a canonical name such as russia.", "country")
            known = catalogue.product(session, name=product)
            if known is not None and known.category != catalogue.category_of(product):
                raise FormError("This product's category does not match its name.", "product")
            now = ctx.now(session)
            catalogue.set_stock(
                session,
                country=country,
                operator=operator,
                product_name=product,
                count=count,
                price=price,
                vendor_id=sandbox_vendor(session, now=now).id,
                now=now,
            )
            row = queries.offer(session, country=country.name, operator=operator, product=product)
            assert row is not None
            return row

        return await self.change(
            request,
            "fivesim.set_price",
            f"fivesim:offer:{country_name}/{operator}/{product}",
            work,
            lambda row: {"price": rub(row.price), "count_at_least": count, "free": row.count},
        )
