"""Currency rates: the market rate of each currency (units per EUR), editable by operators."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form, StringField, ValidationError
from wtforms.validators import InputRequired

from understudy.console.pages import ConsolePage, FormError, not_found
from understudy.core.money import InvalidAmount, to_decimal
from understudy.nebeus import banking

MAX_RATE = Decimal("1e12")
MAX_DECIMALS = 12


def parse_rate(text: str) -> Decimal:
    """A rate as the control plane accepts it: positive, at most 1e12, at most 12 decimals."""
    try:
        rate = to_decimal(text)
    except InvalidAmount:
        raise ValueError("Rate must be a number, e.g. 0.001163") from None
    exponent = rate.as_tuple().exponent
    if rate <= 0:
        raise ValueError("Rate must be positive")
    if rate > MAX_RATE:
        raise ValueError("Rate must be at most 1e12")
    if not isinstance(exponent, int) or exponent < -MAX_DECIMALS:
        raise ValueError(f"Rate may have at most {MAX_DECIMALS} decimals")
    return rate


def _valid_rate(form: Form, field: Any) -> None:
    try:
        parse_rate(str(field.data or ""))
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class RateForm(Form):
    """A currency's new market rate."""

    rate = StringField(
        "Rate (units per EUR)",
        validators=[InputRequired(message="Rate should be specified"), _valid_rate],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "class": "form-control"},
    )


def currencies(session: Session) -> list[dict[str, str]]:
    """Every supported currency with its rate, symbol and the EUR value of one unit."""
    rows = []
    for currency in banking.list_currencies(session):
        rate = Decimal(currency.rate)
        rows.append(
            {
                "name": currency.name,
                "rate": currency.rate,
                "symbol": currency.symbol,
                "eur": f"{(1 / rate).quantize(Decimal('0.01')):,}" if rate else "",
            }
        )
    return rows


class RatesPage(ConsolePage):
    """The rate table and the rate edit form."""

    name = "Currency rates"
    category = "nebeus"
    icon = "fa-solid fa-coins"

    @expose("/nebeus/rates", methods=["GET"], identity="nebeus-rates")
    async def rates(self, request: Request) -> Response:
        """Currencies and their market rates."""
        rows = await self.read(request, currencies)
        return await self.render(
            request,
            "console/nebeus/rates.html",
            rows=rows,
            title="Currency rates",
            pretitle="nebeus",
        )

    @expose("/nebeus/rates/{currency:str}", methods=["GET", "POST"], identity="nebeus-rate")
    async def rate(self, request: Request) -> Response:
        """Set one currency's rate with the service's `set_rate` (EUR stays 1)."""
        name = str(request.path_params["currency"]).upper()
        rows = await self.read(request, currencies)
        current = next((row for row in rows if row["name"] == name), None)
        if current is None:
            not_found("currency")
        form = await self.form(request, RateForm, rate=current["rate"])
        if request.method == "POST" and form.validate():
            rate = parse_rate(str(form.rate.data))

            def work(session: Session) -> None:
                try:
                    banking.set_rate(session, currency=name, rate=rate)
                except banking.BankingError as exc:
                    raise FormError(exc.message, "rate") from None

            try:
                await self.change(
                    request,
                    "nebeus.rate.set",
                    f"nebeus:currency:{name}",
                    work,
                    {"currency": name, "from": current["rate"], "to": str(rate)},
                )
            except FormError as exc:
                exc.attach(form)
            else:
                return self.done(
                    request, f"{name} rate set to {rate}", self.url(request, "nebeus-rates")
                )
        return await self.render(
            request,
            "console/nebeus/rate.html",
            form=form,
            currency=current,
            title=f"{name} rate",
            pretitle="nebeus currency",
        )
