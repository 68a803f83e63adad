"""Money in integer minor units per currency; Decimal only at the edges."""

from __future__ import annotations

import re
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation, Overflow

_SCALES: dict[str, int] = {"RUB": 2, "USD": 2, "EUR": 2, "GBP": 2, "BTC": 8}

# Plain ASCII decimal notation only: no underscores, no non-ASCII digits, no NaN/Infinity words.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# Arithmetic that never rounds (the default context keeps only 28 digits).
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Overflow])
# The largest amount a BIGINT column holds.
MAX_MINOR = 2**63 - 1


class InvalidAmount(ValueError):
    """An amount that is not a finite number representable in the currency's minor units."""


class UnknownCurrency(KeyError):
    """A currency code with no registered scale."""


def register_currency(code: str, scale: int) -> None:
    """Declare a currency and its number of decimal places (idempotent for the same scale)."""
    existing = _SCALES.get(code)
    if existing is not None and existing != scale:
        raise ValueError(f"{code} already registered with scale {existing}")
    _SCALES[code] = scale


def scale(currency: str) -> int:
    """Number of decimal places of the currency."""
    try:
        return _SCALES[currency]
    except KeyError:
        raise UnknownCurrency(currency) from None


def currencies() -> tuple[str, ...]:
    """Every registered currency code."""
    return tuple(_SCALES)


def to_decimal(value: Decimal | int | float | str) -> Decimal:
    """Parse a number given as Decimal, int, float (by its shortest repr) or numeric string."""
    if isinstance(value, bool):
        raise InvalidAmount(repr(value))
    try:
        if isinstance(value, Decimal):
            number = value
        else:
            text = str(value).strip()
            if not _NUMBER.fullmatch(text):
                raise InvalidAmount(repr(value))
            number = Decimal(text)
    except (InvalidOperation, ValueError):  # str() of an int with too many digits
        raise InvalidAmount(repr(value)) from None
    if not number.is_finite():
        raise InvalidAmount(repr(value))
    return number


def to_minor(value: Decimal | int | float | str, currency: str) -> int:
    """Major units to integer minor units; more decimals than the currency has is an error.

    Amounts whose minor units do not fit a signed 64-bit integer are refused too.
    """
    number = to_decimal(value)
    places = scale(currency)
    try:
        minor = number.scaleb(places, context=_EXACT)
    except ArithmeticError:
        raise InvalidAmount(f"{value!r} is out of range") from None
    if minor != minor.to_integral_value(context=_EXACT):
        raise InvalidAmount(f"{value!r} has more than {places} decimals for {currency}")
    if minor.copy_abs() > MAX_MINOR:
        raise InvalidAmount(f"{value!r} is out of range for {currency}")
    return int(minor)


def to_major(minor: int, currency: str) -> Decimal:
    """Integer minor units to an exact Decimal in major units."""
    return Decimal(minor).scaleb(-scale(currency), context=_EXACT)


def major_number(minor: int, currency: str) -> int | float:
    """Minor units as a JSON number: whole values as int, else the shortest float."""
    amount = to_major(minor, currency)
    return int(amount) if amount == amount.to_integral_value() else float(amount)
