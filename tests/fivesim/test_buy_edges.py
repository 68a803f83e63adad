"""Buy edge cases: empty segments, switches (maintenance, wait time, 200 for no free phones),
and concurrent buyers never sharing a number."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest
from sqlalchemy import func, select

from tests.fivesim.helpers import (
    advance,
    assert_error,
    assert_invariants,
    bearer,
    buy,
    new_user,
    stock,
)
from understudy.context import AppContext
from understudy.fivesim.models import Order
from understudy.fivesim.settings import get_settings


@pytest.fixture
def fivesim_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set UNDERSTUDY_FIVESIM_* variables for one test."""
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _set(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(f"UNDERSTUDY_FIVESIM_{name}", value)
    get_settings.cache_clear()


async def test_empty_segments_ask_to_select(client: httpx.AsyncClient) -> None:
    _, token = await new_user(client)
    assert_error(await buy(client, token, "/any/vkontakte"), "select country")
    assert_error(await buy(client, token, "//vkontakte"), "select country")
    assert_error(await buy(client, token, "russia//vkontakte"), "select operator")
    answer = await client.get("/v1/user/buy/activation//any/vkontakte")
    assert (answer.status_code, answer.content) == (401, b"")


async def test_maintenance_switch(
    client: httpx.AsyncClient, fivesim_env: pytest.MonkeyPatch
) -> None:
    await stock(client)
    _, token = await new_user(client, balance=100)
    _set(fivesim_env, "MAINTENANCE", "true")
    assert_error(await buy(client, token), "server offline")


async def test_minimum_age_before_cancel(
    client: httpx.AsyncClient, ctx: AppContext, fivesim_env: pytest.MonkeyPatch
) -> None:
    await stock(client)
    _, token = await new_user(client, balance=100)
    _set(fivesim_env, "CANCEL_MIN_SECONDS", "60")
    order = (await buy(client, token)).json()
    cancel = f"/v1/user/cancel/{order['id']}"
    assert_error(await client.get(cancel, headers=bearer(token)), "you need to wait time")
    await advance(client, 60)
    assert (await client.get(cancel, headers=bearer(token))).json()["status"] == "CANCELED"
    assert_invariants(ctx)


async def test_no_free_phones_may_answer_200(
    client: httpx.AsyncClient, fivesim_env: pytest.MonkeyPatch
) -> None:
    _, token = await new_user(client, balance=100)
    await stock(client, count=0)
    _set(fivesim_env, "NO_FREE_PHONES_STATUS", "200")
    answer = await buy(client, token)
    assert (answer.status_code, answer.text) == (200, "no free phones")


async def test_concurrent_buyers_never_share_a_number(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await stock(client, count=3)
    tokens = [(await new_user(client, f"buyer{i}@example.com", balance=100))[1] for i in range(8)]
    answers: list[httpx.Response] = []

    async def one(token: str) -> None:
        answers.append(await buy(client, token))

    async with anyio.create_task_group() as group:
        for token in tokens:
            group.start_soon(one, token)
    ok = [a.json()["phone"] for a in answers if a.status_code == 200]
    refused = [a.text for a in answers if a.status_code != 200]
    assert len(ok) == len(set(ok)) == 3
    assert refused == ["no free phones"] * 5
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 3
    assert_invariants(ctx)


async def test_optional_cap_of_open_orders_by_rating(
    client: httpx.AsyncClient, fivesim_env: pytest.MonkeyPatch
) -> None:
    await stock(client, count=5)
    _, token = await new_user(client, balance=100, rating=2)
    _set(fivesim_env, "CAP_ACTIVE_ORDERS", "true")
    first = (await buy(client, token)).json()
    assert (await buy(client, token)).status_code == 200
    assert_error(await buy(client, token), "not enough rating")
    await client.get(f"/v1/user/cancel/{first['id']}", headers=bearer(token))  # rating 1.9
    assert_error(await buy(client, token), "not enough rating")
