"""Checks on text that arrives from clients."""

from __future__ import annotations


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty run of 0-9 only (`str.isdigit` also takes "²", which `int` refuses)."""
    return text.isascii() and text.isdigit()
