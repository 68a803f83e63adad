"""Catalogue pages and the price form: changes reach /v1/guest/prices on the next request."""

from __future__ import annotations

from typing import Any

import httpx

from tests.console.fivesim.conftest import BASE, audit_rows, field_error, post_form
from tests.fivesim.helpers import stock
from understudy.context import AppContext

GOOD = {
    "country": "russia",
    "operator": "beeline",
    "product": "vkontakte",
    "price": "7.5",
    "count": "0",
}


async def prices(client: httpx.AsyncClient, **params: str) -> Any:
    """The public price table, narrowed."""
    answer = await client.get("/v1/guest/prices", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_new_offer_shows_in_the_public_prices(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    form = await signed_in.get(f"{BASE}/prices/set")
    assert form.status_code == 200 and 'id="price-form"' in form.text
    assert await prices(signed_in, country="russia", product="newapp") is None
    done = await post_form(
        signed_in,
        f"{BASE}/prices/set",
        {"country": "russia", "operator": "newop", "product": "newapp", "price": "7.5", "count": 2},
    )
    assert done.status_code == 303, done.text
    body = await prices(signed_in, country="russia", product="newapp")
    assert body == {"russia": {"newapp": {"newop": {"cost": 7.5, "count": 2}}}}
    table = await signed_in.get(done.headers["location"])
    assert 'data-offer="russia/newop/newapp"' in table.text
    assert 'data-price="7.50"' in table.text and 'data-count="2"' in table.text
    [(target, details, _)] = audit_rows(ctx, "fivesim.set_price")
    assert target == "fivesim:offer:russia/newop/newapp" and '"free":2' in details
    products = await signed_in.get(f"{BASE}/products", params={"q": "newapp"})
    assert 'data-product="newapp"' in products.text
    operators = await signed_in.get(f"{BASE}/operators", params={"country": "russia"})
    assert 'data-operator="russia/newop"' in operators.text


async def test_a_price_change_is_seen_past_the_prices_cache(signed_in: httpx.AsyncClient) -> None:
    await stock(signed_in, count=3, price=21)
    before = await prices(signed_in, country="russia", product="vkontakte")
    assert before["russia"]["vkontakte"]["beeline"] == {"cost": 21, "count": 3}
    edit = await signed_in.get(
        f"{BASE}/prices/set",
        params={"country": "russia", "operator": "beeline", "product": "vkontakte"},
    )
    assert 'value="21.00"' in edit.text and 'id="current-offer"' in edit.text
    done = await post_form(signed_in, f"{BASE}/prices/set", {**GOOD, "price": "19.90", "count": 5})
    assert done.status_code == 303
    after = await prices(signed_in, country="russia", product="vkontakte")
    assert after["russia"]["vkontakte"]["beeline"] == {"cost": 19.9, "count": 5}
    # A lower count adds nothing and removes nothing.
    await post_form(signed_in, f"{BASE}/prices/set", {**GOOD, "price": "19.90", "count": 1})
    assert (await prices(signed_in, country="russia"))["russia"]["vkontakte"]["beeline"][
        "count"
    ] == 5


async def test_bad_input_is_shown_next_to_its_field_and_saves_nothing(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    await stock(signed_in, count=1, price=21)
    for change, field, message in (
        ({"price": "0"}, "price", "greater than 0"),
        ({"price": "1.005"}, "price", "At most 2 decimals"),
        ({"price": ""}, "price", "Enter an amount"),
        ({"operator": "any"}, "operator", "reserved"),
        ({"operator": "Bee Line"}, "operator", "Lowercase"),
        ({"product": ""}, "product", "required"),
        ({"count": "-1"}, "count", "Between 0 and 10,000"),
        ({"count": "many"}, "count", "Not a valid integer"),
        ({"country": ""}, "country", "required"),
    ):
        data = {**GOOD, "count": 4, **change}
        answer = await post_form(signed_in, f"{BASE}/prices/set", data)
        assert answer.status_code == 400, change
        errors = field_error(answer)
        assert len(errors) == 1 and message in errors[0], (change, errors)
        assert f'id="{field}"' in answer.text
    body = await prices(signed_in, country="russia")
    assert body == {"russia": {"vkontakte": {"beeline": {"cost": 21, "count": 1}}}}
    assert audit_rows(ctx, "fivesim.set_price") == []


async def test_an_unknown_country_is_refused(signed_in: httpx.AsyncClient, ctx: AppContext) -> None:
    answer = await post_form(
        signed_in, f"{BASE}/prices/set", {**GOOD, "country": "atlantis", "operator": "fresh"}
    )
    assert answer.status_code == 400
    assert field_error(answer) == ["Unknown country: use a canonical name such as russia."]
    assert audit_rows(ctx, "fivesim.set_price") == []
    operators = await signed_in.get(f"{BASE}/operators", params={"q": "fresh"})
    assert "data-operator=" not in operators.text


async def test_catalogue_lists(signed_in: httpx.AsyncClient) -> None:
    await stock(signed_in, count=2, price=21)
    await stock(signed_in, country="england", operator="ee", product="1day", count=1, price=50)
    countries = await signed_in.get(f"{BASE}/countries")
    assert countries.status_code == 200
    assert (
        'data-country="russia"' in countries.text and 'data-country="afghanistan"' in countries.text
    )
    narrowed = await signed_in.get(f"{BASE}/countries", params={"q": "engl"})
    assert (
        'data-country="england"' in narrowed.text and 'data-country="russia"' not in narrowed.text
    )
    products = await signed_in.get(f"{BASE}/products")
    assert 'data-product="1day"' in products.text and "hosting" in products.text
    table = await signed_in.get(f"{BASE}/prices", params={"product": "1day"})
    assert 'data-offer="england/ee/1day"' in table.text
    assert 'data-offer="russia/beeline/vkontakte"' not in table.text
