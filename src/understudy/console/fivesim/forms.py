"""The fivesim console's forms: top-up, price and stock, payout reserves."""

from __future__ import annotations

from typing import Any

from wtforms import Field, Form, IntegerField, StringField, ValidationError
from wtforms.validators import InputRequired, Length, Regexp

from understudy.console.fivesim.money import parse_amount
from understudy.fivesim import orders
from understudy.fivesim.vendor import RESERVES, SLUG

CONTROL = {"class": "form-control"}
MAX_COUNT = 10_000  # as the control plane's `stock`


class Amount:
    """Validator: a RUB amount with at most 2 decimals; the minor units land in `field.minor`."""

    def __init__(self, *, positive: bool) -> None:
        self.positive = positive

    def __call__(self, form: Form, field: Field) -> None:
        try:
            field.minor = parse_amount(field.data or "", positive=self.positive)  # type: ignore[attr-defined]
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def not_any(form: Form, field: Field) -> None:
    """Validator: `any` is the buyers' wildcard, not a name."""
    if field.data == orders.ANY:
        raise ValidationError("`any` is reserved for buyers; choose another name.")


def stock_count(form: Form, field: Field) -> None:
    """Validator: 0..10000 numbers (a value that is no integer already has its error)."""
    if field.data is not None and not 0 <= field.data <= MAX_COUNT:
        raise ValidationError(f"Between 0 and {MAX_COUNT:,}.")


def _slug(label: str, description: str) -> StringField:
    return StringField(
        label,
        validators=[
            InputRequired(),
            Regexp(SLUG.pattern, message="Lowercase letters, digits, _ . - (at most 50)."),
            not_any,
        ],
        description=description,
        render_kw=CONTROL,
    )


class TopUpForm(Form):
    """Credit a user's balance (a `charge` payment from `admin`)."""

    amount = StringField(
        "Amount (RUB)",
        validators=[Amount(positive=True)],
        description="Greater than 0, at most 2 decimals.",
        render_kw={**CONTROL, "inputmode": "decimal", "autocomplete": "off"},
    )


class PriceForm(Form):
    """Set the price of an offer and the free numbers it should at least have."""

    country = StringField(
        "Country",
        validators=[InputRequired(), Length(max=50)],
        description="A canonical country name, e.g. russia.",
        render_kw={**CONTROL, "list": "fivesim-countries"},
    )
    operator = _slug("Operator", "Created when new, e.g. beeline.")
    product = _slug("Product", "Created when new; 3hours, 1day, 10days, 1month are hosting.")
    price = StringField(
        "Price (RUB)",
        validators=[Amount(positive=True)],
        render_kw={**CONTROL, "inputmode": "decimal"},
    )
    count = IntegerField(
        "Free numbers, at least",
        default=0,
        validators=[InputRequired(message="Enter a whole number."), stock_count],
        description="Sandbox-vendor numbers are added until this many are free (0 adds none).",
        render_kw=CONTROL,
    )


class ReservesForm(Form):
    """The payout reserves that withdrawals draw on."""

    fkwallet = StringField("fkwallet (RUB)", validators=[Amount(positive=False)], render_kw=CONTROL)
    payeer = StringField("payeer (RUB)", validators=[Amount(positive=False)], render_kw=CONTROL)
    unitpay = StringField("unitpay (RUB)", validators=[Amount(positive=False)], render_kw=CONTROL)

    def amounts(self) -> dict[str, int]:
        """Each reserve's new amount in minor units (after validation)."""
        return {name: self[name].minor for name in RESERVES}


def minor_of(field: Any) -> int:
    """The minor units a validated amount field parsed."""
    return int(field.minor)
