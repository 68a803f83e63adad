"""Fixed reference lists: legs, locales, countries, seeded plans and categories."""

from __future__ import annotations

from functools import lru_cache

import pycountry

LEGS = (
    ("left", "Left"),
    ("right", "Right"),
    ("binary_tank", "Binary tank"),
    ("balanced", "Balanced"),
)
LEG_IDS = frozenset(leg for leg, _ in LEGS)

LOCALES = (
    ("en", "English", "us"),
    ("es", "Español", "es"),
    ("ko", "Korean", "kr"),
    ("zhCN", "Chinese", "cn"),
    ("vi", "Vietnamese", "vn"),
    ("ja", "Japan", "jp"),
    ("zhHK", "Mandarin (Taiwan, Hong Kong)", "tw"),
    ("ms", "Malay (Malaysia)", "my"),
    ("km", "Khmer (Cambodia)", "kh"),
    ("ph", "Philippines", "ph"),
)
LOCALE_IMAGE = "https://flagcdn.com/48x36/{flag}.png"

CATEGORY_RESOURCES = (
    (1, "Photos", "fas fa-file-image"),
    (2, "Videos", "fas fa-file-video"),
    (3, "Files", "fas fa-file-alt"),
    (4, "Presentations", "fas fa-file-powerpoint"),
    (5, "PDFs", "fas fa-file-pdf"),
    (6, "Documents", "fas fa-file-word"),
    (7, "Spreadsheets", "fas fa-file-excel"),
)

CASHOUT_CURRENCIES = ((470, "USDT"),)

FREE_PLAN = "Free Plan"
# name, price and BV in cents, rules (rates in basis points).
PLANS: tuple[dict[str, object], ...] = (
    {"name": FREE_PLAN, "price": 0, "bv": 0},
    {
        "name": "Entrepreneur",
        "price": 5000,
        "bv": 5000,
        "direct_bp": 1000,
        "unilevel_bp": [500, 300, 200],
        "binary_bp": 1000,
        "binary_cap": 50000,
        "matrix_on": True,
        "matrix_bp": [500, 500, 500],
        "matrix_directs_needed": 2,
        "matrix_hold_days": 30,
        "pair_left": 5000,
        "pair_right": 5000,
        "pair_value": 500,
    },
)

WALLETS = ("Lifetime Earning", "Mining", "Credit (crypto)", "Reserve", "Commissions")


@lru_cache(maxsize=1)
def countries() -> tuple[tuple[str, str], ...]:
    """Every ISO 3166-1 country as (alpha-2, name), sorted by name."""
    pairs = ((c.alpha_2, c.name) for c in pycountry.countries)
    return tuple(sorted(pairs, key=lambda pair: (pair[1], pair[0])))


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code."""
    return frozenset(code for code, _ in countries())
