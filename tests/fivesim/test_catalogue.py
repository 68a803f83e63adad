"""Guest catalogue: countries, products, prices (all four shapes) and flash notifications."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from tests.fivesim.helpers import assert_error, bearer, buy, new_user, sms, stock
from understudy.context import AppContext
from understudy.fivesim import service as fivesim_service  # the Service, not service.py
from understudy.fivesim.models import Country, Product
from understudy.fivesim.settings import get_settings


async def _stocked(client: httpx.AsyncClient) -> None:
    await stock(client, "russia", "beeline", "vkontakte", count=3, price=21)
    await stock(client, "russia", "tele2", "vkontakte", count=2, price=18)
    await stock(client, "russia", "beeline", "1day", count=1, price=80)
    await stock(client, "afghanistan", "virtual18", "telegram", count=2, price=4.5)


async def test_countries_shape_and_operators(client: httpx.AsyncClient) -> None:
    await _stocked(client)
    answer = await client.get("/v1/guest/countries")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert len(body) == 174
    assert body["afghanistan"] == {
        "iso": {"af": 1},
        "prefix": {"+93": 1},
        "text_en": "Afghanistan",
        "text_ru": "Афганистан",
        "virtual18": {"activation": 1},
    }
    russia = body["russia"]
    assert list(russia)[:4] == ["iso", "prefix", "text_en", "text_ru"]
    assert russia["beeline"] == {"activation": 1, "hosting": 1}
    assert body["england"]["iso"] == {"gb": 1}


async def test_products_any_and_per_operator(client: httpx.AsyncClient) -> None:
    await _stocked(client)
    body = (await client.get("/v1/guest/products/russia/any")).json()
    # beeline's three numbers serve every product priced there, hosting included.
    assert body == {
        "1day": {"Category": "hosting", "Qty": 3, "Price": 80},
        "vkontakte": {"Category": "activation", "Qty": 5, "Price": 18},
    }
    beeline = (await client.get("/v1/guest/products/russia/beeline")).json()
    assert beeline["vkontakte"] == {"Category": "activation", "Qty": 3, "Price": 21}
    everywhere = (await client.get("/v1/guest/products/any/any")).json()
    assert everywhere["telegram"] == {"Category": "activation", "Qty": 2, "Price": 4.5}


async def test_products_errors(client: httpx.AsyncClient) -> None:
    await _stocked(client)
    assert_error(await client.get("/v1/guest/products/narnia/any"), "country is incorrect")
    assert_error(await client.get("/v1/guest/products/russia/vodafone"), "bad operator")


async def test_products_ignore_tokens(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/guest/products/russia/any", headers=bearer("junk"))
    assert (answer.status_code, answer.json()) == (200, {})


async def test_products_price_prefers_stocked_offers(client: httpx.AsyncClient) -> None:
    await stock(client, "russia", "beeline", "vkontakte", count=1, price=21)
    await stock(client, "russia", "tele2", "vkontakte", count=0, price=5)
    body = (await client.get("/v1/guest/products/russia/any")).json()
    assert body["vkontakte"] == {"Category": "activation", "Qty": 1, "Price": 21}


async def test_prices_four_shapes(client: httpx.AsyncClient) -> None:
    await _stocked(client)
    everything = (await client.get("/v1/guest/prices")).json()
    assert everything["russia"]["vkontakte"]["beeline"] == {"cost": 21, "count": 3}
    assert everything["afghanistan"]["telegram"]["virtual18"] == {"cost": 4.5, "count": 2}
    by_country = (await client.get("/v1/guest/prices", params={"country": "russia"})).json()
    assert list(by_country) == ["russia"]
    assert by_country["russia"]["vkontakte"] == {
        "beeline": {"cost": 21, "count": 3},
        "tele2": {"cost": 18, "count": 2},
    }
    by_product = (await client.get("/v1/guest/prices", params={"product": "vkontakte"})).json()
    assert by_product == {
        "vkontakte": {
            "russia": {"beeline": {"cost": 21, "count": 3}, "tele2": {"cost": 18, "count": 2}}
        }
    }
    both = await client.get(
        "/v1/guest/prices", params={"country": "afghanistan", "product": "telegram"}
    )
    assert both.json() == {"afghanistan": {"telegram": {"virtual18": {"cost": 4.5, "count": 2}}}}
    empty = await client.get("/v1/guest/prices?country=&product=")
    assert empty.json() == everything


async def test_prices_unknown_filter_is_null(client: httpx.AsyncClient) -> None:
    await _stocked(client)
    for params in ({"country": "narnia"}, {"product": "nothing"}):
        answer = await client.get("/v1/guest/prices", params=params)
        assert (answer.status_code, answer.text) == (200, "null")


async def test_counts_follow_sales(client: httpx.AsyncClient) -> None:
    await stock(client, count=2)
    _, token = await new_user(client, balance=100)
    assert (await buy(client, token)).status_code == 200
    body = (await client.get("/v1/guest/prices", params={"country": "russia"})).json()
    assert body["russia"]["vkontakte"]["beeline"]["count"] == 1


async def test_flash(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (await client.get("/v1/guest/flash/en")).json() == {"text": ""}
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_FLASH_EN", "maintenance tonight")
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_FLASH_RU", "работы ночью")
    get_settings.cache_clear()
    try:
        assert (await client.get("/v1/guest/flash/en")).json() == {"text": "maintenance tonight"}
        assert (await client.get("/v1/guest/flash/ru")).json() == {"text": "работы ночью"}
        assert (await client.get("/v1/guest/flash/de")).json() == {"text": "maintenance tonight"}
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


async def test_prices_rate_from_ended_orders(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_RATE_MIN_ORDERS", "3")
    get_settings.cache_clear()
    try:
        await stock(client, count=5)
        _, token = await new_user(client, balance=200)
        ids = [(await buy(client, token)).json()["id"] for _ in range(4)]
        await sms(client, ids[0], "code 1111")
        await client.get(f"/v1/user/finish/{ids[0]}", headers=bearer(token))
        await client.get(f"/v1/user/cancel/{ids[1]}", headers=bearer(token))

        def offer(body: dict) -> dict:  # type: ignore[type-arg]
            return body["russia"]["vkontakte"]["beeline"]  # type: ignore[no-any-return]

        prices = (await client.get("/v1/guest/prices")).json()
        assert "rate" not in offer(prices)  # two ended orders: too few
        await client.get(f"/v1/user/cancel/{ids[2]}", headers=bearer(token))
        prices = (await client.get("/v1/guest/prices")).json()
        assert offer(prices) == {"cost": 21, "count": 3, "rate": 33.33}
        await client.get(f"/v1/user/cancel/{ids[3]}", headers=bearer(token))
        await stock(client, count=5)
        prices = (await client.get("/v1/guest/prices")).json()
        assert offer(prices)["rate"] == 25
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_seed_is_idempotent(ctx: AppContext) -> None:
    with ctx.db.write() as session:
        fivesim_service.seed(session, ctx)  # a second start on the same database
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Country)) == 174
        assert session.scalars(
            select(Product.name).where(Product.category == "hosting").order_by(Product.name)
        ).all() == ["10days", "1day", "1month", "3hours"]
