"""Guest catalogue: countries, products, prices (all four shapes) and flash notifications."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from tests.fivesim.helpers import advance, assert_error, bearer, buy, new_user, sms, stock
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


async def test_names_with_nul_are_unknown_names(client: httpx.AsyncClient) -> None:
    await _stocked(client)
    for params in ({"country": "rus\x00sia"}, {"product": "vk\x00"}):
        unknown = await client.get("/v1/guest/prices", params={k: "narnia" for k in params})
        answer = await client.get("/v1/guest/prices", params=params)
        assert (answer.status_code, answer.text) == (unknown.status_code, unknown.text)
    assert_error(await client.get("/v1/guest/products/rus%00sia/any"), "country is incorrect")


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
        third = 33.33
        assert offer(prices) == {"cost": 21, "count": 3, "rate": third} | {
            f"rate{h}": third for h in (1, 3, 24, 72, 168, 720)
        }
        assert list(offer(prices)) == [
            "cost",
            "count",
            "rate",
            "rate1",
            "rate3",
            "rate24",
            "rate72",
            "rate168",
            "rate720",
        ]
        await client.get(f"/v1/user/cancel/{ids[3]}", headers=bearer(token))
        await stock(client, count=5)
        prices = (await client.get("/v1/guest/prices")).json()
        assert offer(prices)["rate"] == offer(prices)["rate720"] == 25
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


def _beeline(body: dict) -> dict:  # type: ignore[type-arg]
    return body["russia"]["vkontakte"]["beeline"]  # type: ignore[no-any-return]


async def test_rate_windows_slide_with_the_clock(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_RATE_MIN_ORDERS", "2")
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_RATE_WINDOW_HOURS", "24")
    get_settings.cache_clear()
    try:
        await stock(client, count=6)
        _, token = await new_user(client, balance=500)
        old = [(await buy(client, token)).json()["id"] for _ in range(2)]
        await sms(client, old[0], "code 1111")
        await client.get(f"/v1/user/finish/{old[0]}", headers=bearer(token))
        await client.get(f"/v1/user/cancel/{old[1]}", headers=bearer(token))
        await advance(client, 2 * 3600)  # those two ended 2 h ago
        new = [(await buy(client, token)).json()["id"] for _ in range(2)]
        for order_id in new:
            await sms(client, order_id, "code 2222")
            await client.get(f"/v1/user/finish/{order_id}", headers=bearer(token))
        offer = _beeline((await client.get("/v1/guest/prices")).json())
        # rate1 sees the two recent successes; rate3 and longer also the old cancel.
        assert {k: v for k, v in offer.items() if k.startswith("rate")} == {
            "rate": 75,
            "rate1": 100,
            "rate3": 75,
            "rate24": 75,
            "rate72": 75,
            "rate168": 75,
            "rate720": 75,
        }
        # Nothing changes but time: the recent pair leaves the 1-hour window, the old one the
        # 3-hour window.
        await advance(client, 90 * 60)
        offer = _beeline((await client.get("/v1/guest/prices")).json())
        assert "rate1" not in offer
        assert (offer["rate3"], offer["rate24"], offer["rate"]) == (100, 75, 75)
        await advance(client, 21 * 3600)  # the old pair leaves the configured 24-hour window
        offer = _beeline((await client.get("/v1/guest/prices")).json())
        assert (offer["rate"], offer["rate24"], offer["rate72"]) == (100, 100, 75)
        await advance(client, 23 * 3600)  # and so does the recent pair
        offer = _beeline((await client.get("/v1/guest/prices")).json())
        assert "rate" not in offer and "rate24" not in offer and offer["rate72"] == 75
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


async def test_cached_prices_show_every_stock_change_at_once(client: httpx.AsyncClient) -> None:
    await stock(client, count=2)
    _, token = await new_user(client, balance=100)
    vendor_id, vendor_token = await new_user(client, "seller@example.com", vendor=True)

    async def count() -> int:
        unfiltered = (await client.get("/v1/guest/prices")).json()
        by_country = (await client.get("/v1/guest/prices?country=russia")).json()
        by_product = (await client.get("/v1/guest/prices?product=vkontakte")).json()
        assert by_product["vkontakte"]["russia"]["beeline"] == _beeline(by_country)
        assert _beeline(unfiltered) == _beeline(by_country)
        return int(_beeline(unfiltered)["count"])

    assert await count() == 2
    assert await count() == 2  # served again from the cache
    order = (await buy(client, token)).json()
    assert await count() == 1  # a buy takes a number
    await client.get(f"/v1/user/cancel/{order['id']}", headers=bearer(token))
    assert await count() == 2  # a cancel gives it back
    added = await client.post(
        "/v1/vendor/numbers",
        json=[{"phone": "+79990001122", "country": "russia", "operator": "beeline"}],
        headers=bearer(vendor_token),
    )
    assert added.json() == {"added": 1, "skipped": 0}
    assert await count() == 3  # a vendor's new number
    await stock(client, count=5, price=30)
    assert await count() == 5
    assert _beeline((await client.get("/v1/guest/prices")).json())["cost"] == 30  # new price
    second = (await buy(client, token)).json()
    await advance(client, 15 * 60)  # the expiry (a timer) returns the number
    assert (await client.get(f"/v1/user/check/{second['id']}", headers=bearer(token))).json()[
        "status"
    ] == "TIMEOUT"
    assert await count() == 5
    assert vendor_id > 0
