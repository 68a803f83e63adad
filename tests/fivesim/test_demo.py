"""The `--demo` catalogue and the demo vendor's simulated modem."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from tests.fivesim.helpers import advance, assert_invariants, bearer, buy, new_user, stock
from understudy.context import AppContext
from understudy.fivesim import demo_catalogue
from understudy.fivesim import service as fivesim_service  # the Service, not service.py
from understudy.fivesim.codes import extract_code
from understudy.fivesim.models import Number, Price


def test_default_catalogue_is_large_and_real() -> None:
    size = demo_catalogue.Size()
    countries = demo_catalogue.countries(size)
    products = demo_catalogue.products(size)
    assert len(countries) == 40
    assert all(c in demo_catalogue.OPERATORS for c, _, _ in countries)  # named operators only
    assert dict((c, ops) for c, _, ops in countries)["russia"][:3] == ["beeline", "megafon", "mts"]
    assert len(products) == 250 == len(set(products))
    assert {"telegram", "whatsapp", "vkontakte", "google"} <= set(products)
    assert not any(p.startswith("service") for p in products)
    prices = [
        demo_catalogue.price(rank, index, country, operators[0], product)
        for rank, (country, _, operators) in enumerate(countries)
        for index, product in enumerate(products)
    ]
    assert 100 <= min(prices) < max(prices) <= 10_000  # 1 to 100 RUB
    assert len(set(prices)) > 1000


def test_bench_sized_catalogue_has_exact_dimensions() -> None:
    size = demo_catalogue.Size(countries=150, products=300, operators=5)
    countries = demo_catalogue.countries(size)
    assert len(countries) == 150 and {len(ops) for _, _, ops in countries} == {5}
    assert len(demo_catalogue.products(size)) == 300


async def _demo_token(ctx: AppContext) -> str:
    info = fivesim_service.demo(ctx)
    return info.lines[0].split("token ")[1]


async def test_demo_catalogue_is_served_and_loads_once(
    client: httpx.AsyncClient, ctx: AppContext, small_demo: None
) -> None:
    await _demo_token(ctx)
    with ctx.db.read() as session:
        counts = [session.scalar(select(func.count()).select_from(t)) for t in (Price, Number)]
    await _demo_token(ctx)  # a second start adds nothing
    with ctx.db.read() as session:
        again = [session.scalar(select(func.count()).select_from(t)) for t in (Price, Number)]
    assert counts == again
    # russia (7 operators) + ukraine (3) + kazakhstan (5), 6 products each, 4 hosting offers
    assert counts[0] == 15 * 6 + 4
    products = (await client.get("/v1/guest/products/russia/any")).json()
    assert set(products) >= {"telegram", "whatsapp", "vkontakte", "1day"}
    assert all(p["Qty"] >= 5 for p in products.values())
    countries = (await client.get("/v1/guest/countries")).json()
    assert {"beeline", "megafon", "mts", "tele2"} <= set(countries["russia"])
    prices = (await client.get("/v1/guest/prices?country=ukraine")).json()
    assert set(prices["ukraine"]["telegram"]) == {"kyivstar", "lifecell", "vodafone"}


async def test_modem_answers_a_demo_buy_with_a_code(
    client: httpx.AsyncClient, ctx: AppContext, small_demo: None
) -> None:
    token = await _demo_token(ctx)
    auth = bearer(token)
    order = (await buy(client, token, "russia/any/telegram")).json()
    assert (order["status"], order["sms"]) == ("PENDING", None)
    check = f"/v1/user/check/{order['id']}"
    assert (await client.get(check, headers=auth)).json()["status"] == "PENDING"
    await advance(client, 5)  # the sandbox clock runs due timers: the modem's SMS arrives
    received = (await client.get(check, headers=auth)).json()
    assert received["status"] == "RECEIVED"
    [message] = received["sms"]
    assert message["sender"] == "Telegram"
    assert re.fullmatch(r"\d{4,6}", message["code"]) and message["code"] in message["text"]
    assert extract_code(message["text"]) == message["code"]
    finished = (await client.get(f"/v1/user/finish/{order['id']}", headers=auth)).json()
    assert finished["status"] == "FINISHED"
    assert_invariants(ctx)


async def test_modem_sms_is_applied_when_the_order_is_read(
    client: httpx.AsyncClient, ctx: AppContext, small_demo: None
) -> None:
    token = await _demo_token(ctx)
    order = (await buy(client, token, "ukraine/kyivstar/whatsapp")).json()
    with ctx.db.write() as session:  # time passes, but no sweeper runs the timer
        ctx.clock.advance(session, 5)
    checked = (await client.get(f"/v1/user/check/{order['id']}", headers=bearer(token))).json()
    assert checked["status"] == "RECEIVED" and len(checked["sms"]) == 1


async def test_modem_only_answers_the_demo_vendors_numbers(
    client: httpx.AsyncClient, ctx: AppContext, small_demo: None
) -> None:
    await _demo_token(ctx)
    await stock(client, "england", "vodafone", "telegram", count=1, price=10)
    _, token = await new_user(client, balance=50)
    order = (await buy(client, token, "england/vodafone/telegram")).json()
    await advance(client, 60)
    checked = (await client.get(f"/v1/user/check/{order['id']}", headers=bearer(token))).json()
    assert (checked["status"], checked["sms"]) == ("PENDING", None)
    cancelled = await client.get(f"/v1/user/cancel/{order['id']}", headers=bearer(token))
    assert cancelled.json()["status"] == "CANCELED"
