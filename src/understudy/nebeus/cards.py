"""Card checks and the pluggable card processor (the sandbox declines numbers ending 0002)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Card:
    """Card details as given; the CVV is never stored."""

    number: str
    holder: str
    expiry: str  # MM/YY
    cvc: str


def luhn(number: str) -> bool:
    """Whether the digits pass the Luhn check."""
    total = 0
    for i, char in enumerate(reversed(number)):
        digit = int(char)
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def valid(card: Card, *, now: datetime) -> bool:
    """Number (12-19 digits, Luhn), holder, unexpired MM/YY expiry and a 3-4 digit CVC."""
    match = re.fullmatch(r"(0[1-9]|1[0-2])/(\d\d)", card.expiry)
    if not (re.fullmatch(r"\d{12,19}", card.number) and luhn(card.number) and match):
        return False
    month, year = int(match.group(1)), 2000 + int(match.group(2))
    if (year, month) < (now.year, now.month):
        return False
    return bool(card.holder.strip()) and bool(re.fullmatch(r"\d{3,4}", card.cvc))


def normalise_number(value: str) -> str:
    """Card number without spaces or dashes."""
    return re.sub(r"[\s-]", "", value)


def masked(first4: str, last4: str) -> str:
    """ "4111 **** **** 1111"."""
    return f"{first4} **** **** {last4}"


class SandboxProcessor:
    """Approves every charge except on numbers ending 0002; tokens are random."""

    def charge(self, *, last4: str, token: str | None, amount: int, currency: str) -> bool:
        """Whether the charge went through."""
        return last4 != "0002"

    def tokenize(self, *, number: str) -> str:
        """A processor token standing for the card."""
        return secrets.token_hex(16)


processor = SandboxProcessor()
