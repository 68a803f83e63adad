"""Currency rates in the console: the table, and editing a rate (positive decimal, EUR stays 1)."""

from __future__ import annotations

import httpx

from tests.console.nebeus.helpers import (
    audit_rows,
    dashboard,
    field_error,
    post_form,
    text_of,
    user_with_pending,
)
from understudy.context import AppContext

RATES = "/admin/nebeus/rates"


async def btc_rate(client: httpx.AsyncClient, sid: str) -> float:
    """The BTC market rate as the user's dashboard shows it."""
    accounts = (await dashboard(client, sid))["accounts"]
    return next(a["currency"]["rate"] for a in accounts if a["currency"]["name"] == "BTC")


async def test_the_table_lists_every_currency(signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get(RATES)
    assert page.status_code == 200
    for name, rate in (("EUR", "1"), ("BTC", "0.001163"), ("USD", "1.07"), ("GBP", "0.86")):
        assert text_of(page.text, f"rate-{name}") == rate
    assert 'id="edit-rate-BTC"' in page.text and 'id="edit-rate-EUR"' not in page.text
    form = await signed_in.get(f"{RATES}/btc")
    assert (
        form.status_code == 200
        and 'id="rate-form"' in form.text
        and 'value="0.001163"' in form.text
    )
    assert (await signed_in.get(f"{RATES}/XYZ")).status_code == 404


async def test_a_new_rate_reaches_the_api(signed_in: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await user_with_pending(signed_in, ctx, "rate@example.com")
    assert await btc_rate(signed_in, sid) == 0.001163
    answer = await post_form(signed_in, f"{RATES}/BTC", {"rate": " 0.0012 "})
    assert answer.status_code == 303 and answer.headers["location"].endswith(RATES)
    assert await btc_rate(signed_in, sid) == 0.0012
    [entry] = audit_rows(ctx, "nebeus.rate.set")
    assert entry.target == "nebeus:currency:BTC"
    assert '"from":"0.001163"' in entry.details and '"to":"0.0012"' in entry.details
    assert text_of((await signed_in.get(RATES)).text, "rate-BTC") == "0.0012"


async def test_bad_rates_are_refused_next_to_the_field(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await user_with_pending(signed_in, ctx, "keep@example.com")
    cases = {
        "": "Rate should be specified",
        "abc": "Rate must be a number",
        "1,5": "Rate must be a number",
        "0": "Rate must be positive",
        "-2": "Rate must be positive",
        "1e13": "Rate must be at most 1e12",
        "0.0000000000001": "Rate may have at most 12 decimals",
        "NaN": "Rate must be a number",
    }
    for value, message in cases.items():
        answer = await post_form(signed_in, f"{RATES}/BTC", {"rate": value})
        assert answer.status_code == 400, value
        assert field_error(answer.text, message), (value, message)
    eur = await post_form(signed_in, f"{RATES}/EUR", {"rate": "2"})
    assert eur.status_code == 400
    assert field_error(eur.text, "EUR is the company currency; its rate is 1")
    assert await btc_rate(signed_in, sid) == 0.001163
    page = await signed_in.get(RATES)
    assert text_of(page.text, "rate-EUR") == "1" and text_of(page.text, "rate-BTC") == "0.001163"
    assert audit_rows(ctx, "nebeus.rate.set") == []
