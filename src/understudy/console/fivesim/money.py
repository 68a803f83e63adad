"""Amounts in the console: RUB shown with two decimals, typed amounts parsed to minor units."""

from __future__ import annotations

import re
from decimal import Decimal

from understudy.core.money import InvalidAmount, to_decimal, to_major, to_minor
from understudy.fivesim.service import CURRENCY

# The control plane's ceiling for one amount (top-up, price, reserve).
MAX_AMOUNT = Decimal("1000000000")
# Plain decimal notation only: no exponent, plus sign or thousands separators.
_TYPED = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,12})?")


def rub(minor: int | None) -> str:
    """Minor units as `1234.50` (empty for None)."""
    return "" if minor is None else f"{to_major(int(minor), CURRENCY):.2f}"


def parse_amount(text: str, *, positive: bool) -> int:
    """A typed amount in RUB as minor units; ValueError with a message fit for the field."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise ValueError("Enter an amount.")
    if not _TYPED.fullmatch(cleaned):
        raise ValueError("Enter a number such as 100 or 12.50.")
    number = to_decimal(cleaned)
    if positive and number <= 0:
        raise ValueError("The amount must be greater than 0.")
    if number < 0:
        raise ValueError("The amount must not be negative.")
    if number > MAX_AMOUNT:
        raise ValueError(f"The amount must be at most {MAX_AMOUNT:,}.")
    try:
        return to_minor(number, CURRENCY)
    except InvalidAmount:
        raise ValueError("At most 2 decimals (kopecks).") from None
