"""Bundled country flags (flag-icons 7.5.0, MIT; see LICENSE and README.md next to this file)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Flag:
    """One flag's SVG bytes and its strong ETag."""

    svg: bytes
    etag: str


def available() -> list[str]:
    """The upper-case ISO 3166-1 alpha-2 codes that have a bundled flag."""
    return sorted(
        entry.name[:-4].upper()
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(".svg")
    )


@cache
def _known() -> frozenset[str]:
    return frozenset(available())


def flag(code: str) -> Flag | None:
    """The flag of a two-letter country code (any case), or None when there is none."""
    upper = code.upper()
    return _load(upper) if upper in _known() else None


@cache
def _load(code: str) -> Flag:
    svg = resources.files(__package__).joinpath(f"{code.lower()}.svg").read_bytes()
    return Flag(svg=svg, etag='"' + hashlib.sha256(svg).hexdigest()[:32] + '"')
