"""GET /v1/user/profile: golden shape, auth forms, live fields from real orders."""

from __future__ import annotations

import httpx

from tests.fivesim.helpers import bearer, buy, new_user, profile, stock

GOLDEN_KEYS = [
    "id",
    "email",
    "vendor",
    "default_forwarding_number",
    "balance",
    "rating",
    "default_country",
    "default_operator",
    "frozen_balance",
    "did_order",
    "last_order",
    "last_top_orders",
    "last_top_idx",
    "total_active_orders",
    "is_totp",
]


async def test_profile_golden_shape(client: httpx.AsyncClient) -> None:
    user_id, token = await new_user(client, "demo.user@example.com", balance=100, vendor="demo")
    answer = await client.get("/v1/user/profile", headers=bearer(token))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert list(body) == GOLDEN_KEYS
    assert body == {
        "id": user_id,
        "email": "demo.user@example.com",
        "vendor": "demo",
        "default_forwarding_number": "",
        "balance": 100,
        "rating": 96,
        "default_country": {"name": "russia", "iso": "ru", "prefix": "+7"},
        "default_operator": {"name": ""},
        "frozen_balance": 0,
        "did_order": False,
        "last_order": "any:any:any:0:0",
        "last_top_orders": "[any:any:any:0:0]",
        "last_top_idx": 0,
        "total_active_orders": 0,
        "is_totp": False,
    }
    assert list(body["default_country"]) == ["name", "iso", "prefix"]


async def test_bare_token_works_and_bad_tokens_get_empty_401(client: httpx.AsyncClient) -> None:
    _, token = await new_user(client)
    bare = await client.get("/v1/user/profile", headers={"Authorization": token})
    assert bare.status_code == 200
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "nope"}):
        answer = await client.get("/v1/user/profile", headers=headers)
        assert (answer.status_code, answer.content) == (401, b"")


async def test_vendor_true_takes_the_email_local_part(client: httpx.AsyncClient) -> None:
    _, token = await new_user(client, "shop.owner@example.com", vendor=True)
    assert (await profile(client, token))["vendor"] == "shop.owner"


async def test_top_up_bonus_and_explicit_rating(client: httpx.AsyncClient) -> None:
    _, plain = await new_user(client, "a.one@example.com", balance=10)
    _, rated = await new_user(client, "a.two@example.com", balance=10, rating=50)
    assert (await profile(client, plain))["rating"] == 96  # +8 capped at 96
    assert (await profile(client, rated))["rating"] == 50


async def test_live_fields_follow_orders(client: httpx.AsyncClient) -> None:
    await stock(client, price=21, count=5)
    await stock(client, operator="tele2", product="telegram", price=8.5, count=5)
    _, token = await new_user(client, balance=100)
    for path in ("russia/beeline/vkontakte", "russia/beeline/vkontakte", "russia/tele2/telegram"):
        assert (await buy(client, token, path)).status_code == 200
    body = await profile(client, token)
    assert body["did_order"] is True
    assert body["last_order"] == "russia:telegram:tele2:1:8.5"
    assert body["last_top_orders"] == "[russia:vkontakte:beeline:2:21,russia:telegram:tele2:1:8.5]"
    assert body["total_active_orders"] == 3
    assert body["balance"] == 100 - 21 - 21 - 8.5
    assert body["frozen_balance"] == 50.5
