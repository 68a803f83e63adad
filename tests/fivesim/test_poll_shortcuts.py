"""Polls answered ahead of routing (understudy.shortcuts): same bytes and limits, safe fallback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.fivesim.helpers import assert_error, bearer, buy, new_user, sms, stock
from tests.fivesim.test_limits import KEY_LIMIT
from tests.test_observability import sample_sum, scrape
from understudy.context import AppContext
from understudy.fivesim import api, poll_api

VK_TEXT = "VK: 09363 - use this code to reclaim your suspended profile."


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The polls that reached the normal route (the shortcut declined them)."""
    calls: list[str] = []
    real = poll_api.read_order

    async def spy(*args: Any) -> Any:
        calls.append(args[-1])
        return await real(*args)

    monkeypatch.setattr(poll_api, "read_order", spy)  # inbox
    monkeypatch.setattr(api, "read_order", spy)  # check, through api.user_action
    return calls


async def _received_order(client: httpx.AsyncClient) -> tuple[str, int]:
    await stock(client)
    _, token = await new_user(client, balance=100)
    bought = await buy(client, token)
    assert bought.status_code == 200, bought.text
    await sms(client, bought.json()["id"], VK_TEXT)
    return token, bought.json()["id"]


def _wire(answer: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in answer.headers.items() if k != "x-request-id"]
    return answer.status_code, headers, answer.content


@pytest.mark.parametrize("path", ["/v1/user/check/{id}", "/v1/user/sms/inbox/{id}"])
async def test_a_kept_poll_answer_skips_routing_and_is_the_same_on_the_wire(
    client: httpx.AsyncClient, ctx: AppContext, routed: list[str], path: str
) -> None:
    token, order_id = await _received_order(client)
    url = path.format(id=order_id)
    before = sample_sum(await scrape(client), "understudy_requests_total", route=path)
    first = await client.get(url, headers=bearer(token))
    again = await client.get(url, headers=bearer(token))
    assert first.status_code == 200 and "09363" in first.text
    assert _wire(again) == _wire(first)
    # The answer cache lives on SQLite's data version; elsewhere every poll takes the route.
    assert len(routed) == (1 if ctx.db.is_sqlite else 2)
    after = sample_sum(await scrape(client), "understudy_requests_total", route=path)
    assert after == before + 2  # metrics name the shortcut by the route's template


async def test_a_shortcut_answer_counts_against_the_limits(
    app: FastAPI, client: httpx.AsyncClient, ctx: AppContext, routed: list[str]
) -> None:
    token, order_id = await _received_order(client)

    def from_ip(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 1234))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNDERSTUDY_FIVESIM_RATE_LIMIT", "2")
        patch.setenv("UNDERSTUDY_FIVESIM_RATE_LIMIT_PERIOD", "hour")
        from understudy.fivesim.settings import get_settings

        get_settings.cache_clear()
        try:
            statuses = []
            for ip in ("10.9.0.1", "10.9.0.2", "10.9.0.3"):  # the per-IP limit never applies
                async with from_ip(ip) as c:
                    answer = await c.get(f"/v1/user/check/{order_id}", headers=bearer(token))
                statuses.append(answer.status_code)
        finally:
            get_settings.cache_clear()
    assert statuses[:2] == [200, 200]
    assert_error(answer, KEY_LIMIT, 429)
    # Elsewhere the route's own limit dependency refuses the third before the handler runs.
    assert len(routed) == (1 if ctx.db.is_sqlite else 2)


async def test_a_failing_shortcut_falls_back_to_the_route(
    client: httpx.AsyncClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, order_id = await _received_order(client)
    first = await client.get(f"/v1/user/check/{order_id}", headers=bearer(token))

    def broken(*args: Any) -> Callable[..., Any]:
        raise RuntimeError("shortcut bug")

    monkeypatch.setattr(poll_api, "answer_key", broken)  # the shortcut's, not the route's
    again = await client.get(f"/v1/user/check/{order_id}", headers=bearer(token))
    assert _wire(again) == _wire(first)


async def test_polls_that_cannot_be_kept_take_the_route(
    client: httpx.AsyncClient, routed: list[str]
) -> None:
    token, order_id = await _received_order(client)
    for url, headers in [
        (f"/v1/user/check/{order_id}", {}),  # no token: 401 from the route
        ("/v1/user/check/abc", bearer(token)),  # not an id: order not found
        (f"/v1/user/check/{order_id + 1}", bearer(token)),  # unknown order
    ]:
        for _ in range(2):
            answer = await client.get(url, headers=headers)
            assert answer.status_code in (401, 404), answer.text
    assert len(routed) == 6
