"""Money: integer minor units per currency, strict parsing at the edges, exact conversions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from understudy.core import money
from understudy.core.money import (
    MAX_MINOR,
    InvalidAmount,
    UnknownCurrency,
    currencies,
    major_number,
    register_currency,
    scale,
    to_decimal,
    to_major,
    to_minor,
)

BUILT_IN = ("RUB", "USD", "EUR", "GBP", "BTC")


@pytest.fixture
def isolated_currencies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register currencies without leaking them into other tests."""
    monkeypatch.setattr(money, "_SCALES", dict(money._SCALES))


def test_built_in_scales() -> None:
    assert {c: scale(c) for c in BUILT_IN} == {
        "RUB": 2,
        "USD": 2,
        "EUR": 2,
        "GBP": 2,
        "BTC": 8,
    }
    assert set(BUILT_IN) <= set(currencies())


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("12.34", "USD", 1234),
        ("12.3", "EUR", 1230),
        ("12", "RUB", 1200),
        ("0.01", "GBP", 1),
        ("-0.01", "USD", -1),
        ("1", "BTC", 100_000_000),
        ("0.00000001", "BTC", 1),
        ("21000000", "BTC", 2_100_000_000_000_000),
        ("  7.50\n", "USD", 750),
        ("+5", "USD", 500),
        (".5", "USD", 50),
        ("5.", "USD", 500),
        ("1e2", "USD", 10_000),
        ("1.5E-6", "BTC", 150),
        ("12.3400000", "USD", 1234),  # trailing zeros are not extra decimals
        ("-0", "USD", 0),
        (0, "USD", 0),
        (5, "USD", 500),
        (-3, "BTC", -300_000_000),
        (0.1, "USD", 10),
        (19.99, "USD", 1999),
        (1e-8, "BTC", 1),
        (0.3, "BTC", 30_000_000),
        (-0.0, "USD", 0),
        (Decimal("1.10"), "USD", 110),
        (Decimal("1.100"), "USD", 110),
        (Decimal("0.12345678"), "BTC", 12_345_678),
        (Decimal("1E+3"), "RUB", 100_000),
    ],
)
def test_to_minor(value: Any, currency: str, minor: int) -> None:
    result = to_minor(value, currency)
    assert result == minor
    assert type(result) is int


def test_float_arithmetic_noise_is_refused_not_rounded() -> None:
    # 0.1 + 0.2 is 0.30000000000000004: silently rounding it would invent or lose money.
    with pytest.raises(InvalidAmount):
        to_minor(0.1 + 0.2, "USD")
    with pytest.raises(InvalidAmount):
        to_minor(0.1 + 0.2, "BTC")
    assert to_minor(round(0.1 + 0.2, 2), "USD") == 30


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("0.001", "USD"),
        ("12.345", "RUB"),
        ("0.000000001", "BTC"),
        (0.005, "EUR"),
        (Decimal("1.001"), "GBP"),
        ("1e-3", "USD"),
        # more significant digits than the default 28-digit context keeps: no silent rounding
        ("1.0000000000000000000000000000001", "USD"),
        ("0.123456789012345678901234567891", "BTC"),
    ],
)
def test_excess_decimals_are_refused(value: Any, currency: str) -> None:
    with pytest.raises(InvalidAmount):
        to_minor(value, currency)


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        "sNaN",
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        True,
        False,
        None,
        "",
        "   ",
        "abc",
        "1,5",
        "1.2.3",
        "--1",
        "0x10",
        "1_000",
        "١٢",  # Arabic-Indic digits
        "１２",  # fullwidth digits
        "12 USD",
        b"1",
        [1],
        {"amount": 1},
        object(),
    ],
)
def test_not_a_finite_plain_number_is_refused(value: Any) -> None:
    with pytest.raises(InvalidAmount):
        to_minor(value, "USD")
    with pytest.raises(InvalidAmount):
        to_decimal(value)


@pytest.mark.parametrize(
    "value",
    ["1e30", "1e999999999", "-1e999999999", "1E+999999999999999999999", 10**19, 1e300],
)
def test_amounts_beyond_a_bigint_are_refused(value: Any) -> None:
    with pytest.raises(InvalidAmount):
        to_minor(value, "USD")


def test_bigint_boundary_is_exact() -> None:
    top = Decimal(MAX_MINOR).scaleb(-2)
    assert to_minor(top, "USD") == MAX_MINOR
    assert to_minor(-top, "USD") == -MAX_MINOR
    assert to_minor(str(Decimal(MAX_MINOR).scaleb(-8)), "BTC") == MAX_MINOR
    with pytest.raises(InvalidAmount):
        to_minor(Decimal(MAX_MINOR + 1).scaleb(-2), "USD")


def test_invalid_amount_is_a_value_error() -> None:
    assert issubclass(InvalidAmount, ValueError)


def test_to_decimal_keeps_the_exact_value() -> None:
    assert to_decimal("0.10") == Decimal("0.10")
    assert to_decimal(0.1) == Decimal("0.1")  # the float's shortest repr, not its binary value
    assert to_decimal(7) == Decimal(7)
    d = Decimal("3.14159")
    assert to_decimal(d) is d


@pytest.mark.parametrize(
    ("minor", "currency", "major"),
    [
        (1234, "USD", Decimal("12.34")),
        (-5, "RUB", Decimal("-0.05")),
        (0, "EUR", Decimal("0.00")),
        (1, "BTC", Decimal("0.00000001")),
        (123_456_789, "BTC", Decimal("1.23456789")),
        (MAX_MINOR, "USD", Decimal("92233720368547758.07")),
    ],
)
def test_to_major(minor: int, currency: str, major: Decimal) -> None:
    result = to_major(minor, currency)
    assert isinstance(result, Decimal)
    assert result == major
    assert str(result) == str(major)


@pytest.mark.parametrize(
    ("minor", "currency", "number"),
    [
        (1000, "USD", 10),
        (0, "USD", 0),
        (-200, "RUB", -2),
        (1050, "USD", 10.5),
        (1, "USD", 0.01),
        (1, "BTC", 1e-08),
        (100_000_000, "BTC", 1),
        (150_000_000, "BTC", 1.5),
    ],
)
def test_major_number(minor: int, currency: str, number: int | float) -> None:
    result = major_number(minor, currency)
    assert result == number
    assert type(result) is type(number)


@pytest.mark.parametrize("call", [to_minor, lambda v, c: to_major(int(v), c), major_number])
def test_unknown_currency(call: Any) -> None:
    with pytest.raises(UnknownCurrency) as info:
        call(1, "XXX")
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownCurrency):
        scale("usd")  # codes are case-sensitive


@pytest.mark.usefixtures("isolated_currencies")
def test_register_currency_is_idempotent() -> None:
    register_currency("JPY", 0)
    register_currency("JPY", 0)
    assert scale("JPY") == 0
    assert "JPY" in currencies()
    assert to_minor("500", "JPY") == 500
    with pytest.raises(InvalidAmount):
        to_minor("500.5", "JPY")
    assert major_number(500, "JPY") == 500


@pytest.mark.usefixtures("isolated_currencies")
def test_register_currency_conflict_keeps_the_first_scale() -> None:
    register_currency("KWD", 3)
    with pytest.raises(ValueError, match="already registered"):
        register_currency("KWD", 2)
    with pytest.raises(ValueError, match="already registered"):
        register_currency("BTC", 2)
    assert scale("KWD") == 3
    assert scale("BTC") == 8
    assert to_minor("1.234", "KWD") == 1234


@pytest.mark.usefixtures("isolated_currencies")
def test_isolated_registration_does_not_leak() -> None:
    assert "JPY" not in currencies()
    assert "KWD" not in currencies()


currency_codes = st.sampled_from(BUILT_IN)


@given(currency=currency_codes, minor=st.integers(-MAX_MINOR, MAX_MINOR))
def test_round_trip_through_decimal_and_text(currency: str, minor: int) -> None:
    major = to_major(minor, currency)
    assert to_minor(major, currency) == minor
    assert to_minor(str(major), currency) == minor
    assert to_minor(f"  {major}  ", currency) == minor


@given(currency=currency_codes, minor=st.integers(-(10**15) + 1, 10**15 - 1))
def test_round_trip_through_json_number(currency: str, minor: int) -> None:
    # Up to 15 significant digits a float's shortest repr gives back the decimal exactly.
    number = major_number(minor, currency)
    assert to_minor(number, currency) == minor
    assert to_minor(repr(number), currency) == minor


@given(
    currency=currency_codes,
    minor=st.integers(-(10**15), 10**15),
    extra=st.integers(1, 9),
    depth=st.integers(1, 12),
)
def test_any_digit_beyond_the_scale_is_refused(
    currency: str, minor: int, extra: int, depth: int
) -> None:
    places = scale(currency)
    value = (Decimal(minor) * 10**depth + extra).scaleb(-(places + depth))
    with pytest.raises(InvalidAmount):
        to_minor(value, currency)
    with pytest.raises(InvalidAmount):
        to_minor(str(value), currency)
