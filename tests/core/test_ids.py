"""Ids and digits from clients: only ASCII digits name a row, and only within 32 bits."""

from __future__ import annotations

import pytest

from understudy.context import AppContext
from understudy.core.db import MAX_ID, is_id, parse_id, row_by_id
from understudy.core.text import is_ascii_digits
from understudy.nebeus.models import Currency


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        (" 7 ", 7),
        ("0007", 7),
        ("0" * 5000 + "7", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("9" * 5000, None),  # int() itself refuses a string this long
        ("0", None),
        ("-7", None),
        ("+7", None),
        ("7.0", None),
        ("²", None),  # str.isdigit() says yes, int() says no
        ("١", None),  # Arabic-Indic one: int() would take it, a URL id is ASCII
        ("", None),
        (None, None),
    ],
)
def test_parse_id(text: str | None, expected: int | None) -> None:
    assert parse_id(text) == expected


def test_is_id_and_ascii_digits() -> None:
    assert [is_id(v) for v in (None, -1, 0, 1, MAX_ID, MAX_ID + 1)] == [
        False,
        False,
        False,
        True,
        True,
        False,
    ]
    assert [is_ascii_digits(t) for t in ("0123", "", "12a", "²", "١٢", "1 2")] == [
        True,
        False,
        False,
        False,
        False,
        False,
    ]


def test_row_by_id_never_asks_for_an_id_no_row_can_have(ctx: AppContext) -> None:
    with ctx.db.read() as session:
        some = session.query(Currency).first()
        assert some is not None
        assert row_by_id(session, Currency, some.id) is some
        for ident in (None, 0, -1, MAX_ID + 1, 10**30):  # 10**30 would overflow the driver
            assert row_by_id(session, Currency, ident) is None
