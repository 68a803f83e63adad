"""Reading JSON-RPC params: required values, ids, amounts, dates; refusals as field errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from understudy.core.money import InvalidAmount, to_minor
from understudy.nebeus.jsonrpc import Failure, field_error

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def blank(value: Any) -> bool:
    """Whether a param counts as not given (missing, null, false, empty text)."""
    return value is None or value is False or (isinstance(value, str) and not value.strip())


def required(params: dict[str, Any], name: str, *, field: str | None = None, label: str) -> Any:
    """The param's value, or the field error "<label> should be specified"."""
    value = params.get(name)
    if blank(value):
        raise field_error(field or name, f"{label} should be specified")
    return value


def text(params: dict[str, Any], name: str, *, field: str | None = None, label: str) -> str:
    """A required text param (numbers are taken as their text)."""
    value = required(params, name, field=field, label=label)
    if isinstance(value, (dict, list, bool)):
        raise field_error(field or name, f"{label} is not valid")
    return str(value).strip()


def as_int(value: Any) -> int | None:
    """An int given as a JSON integer or a decimal string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 2**62 else None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,18}\s*", value):
        return int(value)
    return None


def optional_int(
    params: dict[str, Any], name: str, *, default: int | None, minimum: int = 0
) -> int | None:
    """An optional non-negative integer param; anything else is "<name> is not valid"."""
    value = params.get(name)
    if blank(value):
        return default
    number = as_int(value)
    if number is None or number < minimum:
        raise field_error(name, f"{name.replace('_', ' ').capitalize()} is not valid")
    return number


def amount(params: dict[str, Any], name: str, *, currency: str, label: str = "Sum") -> int:
    """A required positive amount in minor units ("Invalid amount", "Sum must be positive")."""
    value = required(params, name, label=label)
    if isinstance(value, (dict, list, bool)):
        raise field_error(name, "Invalid amount")
    try:
        minor = to_minor(value, currency)
    except InvalidAmount:
        raise field_error(name, "Invalid amount") from None
    if minor <= 0:
        raise field_error(name, "Sum must be positive")
    return minor


def optional_datetime(params: dict[str, Any], name: str, *, end: bool = False) -> datetime | None:
    """An optional "YYYY-MM-DD[ HH:MM:SS]" UTC param (a bare date ends at 23:59:59 if `end`)."""
    value = params.get(name)
    if blank(value):
        return None
    if isinstance(value, str):
        for fmt in (DATETIME_FORMAT, "%Y-%m-%d"):
            try:
                moment = datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
            if fmt == "%Y-%m-%d" and end:
                moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
            return moment
    raise field_error(name, f"{name.replace('_', ' ').capitalize()} is not valid")


def odoo_datetime(moment: datetime) -> str:
    """The wire format of datetimes: "YYYY-MM-DD HH:MM:SS" UTC."""
    return moment.astimezone(UTC).strftime(DATETIME_FORMAT)


__all__ = ["Failure", "amount", "as_int", "blank", "odoo_datetime", "required", "text"]
