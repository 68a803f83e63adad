"""Buying and the order lifecycle: checks, holds, SMS, finish/cancel/ban, expiry, rating."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from tests.fivesim.helpers import (
    advance,
    assert_error,
    assert_invariants,
    bearer,
    buy,
    new_user,
    profile,
    sms,
    stock,
)
from understudy.context import AppContext
from understudy.core import ledger
from understudy.fivesim.models import Order

ORDER_KEYS = [
    "id",
    "phone",
    "operator",
    "product",
    "price",
    "status",
    "expires",
    "sms",
    "created_at",
    "forwarding",
    "forwarding_number",
    "country",
]
VK_TEXT = "VK: 09363 - use this code to reclaim your suspended profile."


async def _order(
    client: httpx.AsyncClient, action: str, token: str, order_id: Any
) -> httpx.Response:
    return await client.get(f"/v1/user/{action}/{order_id}", headers=bearer(token))


async def _bought(client: httpx.AsyncClient, balance: float = 100) -> tuple[str, dict[str, Any]]:
    await stock(client)
    _, token = await new_user(client, balance=balance)
    answer = await buy(client, token)
    assert answer.status_code == 200, answer.text
    return token, answer.json()


async def test_buy_golden_shape_and_hold(client: httpx.AsyncClient, ctx: AppContext) -> None:
    token, order = await _bought(client)
    assert list(order) == ORDER_KEYS
    assert order["phone"].startswith("+7")
    assert order["phone"][1:].isdigit()
    assert {k: order[k] for k in ("operator", "product", "price", "status", "sms", "country")} == {
        "operator": "beeline",
        "product": "vkontakte",
        "price": 21,
        "status": "PENDING",
        "sms": None,
        "country": "russia",
    }
    assert (order["forwarding"], order["forwarding_number"]) == (False, "")
    assert order["created_at"].endswith("Z")
    body = await profile(client, token)
    assert (body["balance"], body["frozen_balance"]) == (79, 21)
    assert_invariants(ctx)


async def test_full_activation_flow_finish_charges_and_pays_vendor(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    token, order = await _bought(client)
    await sms(client, order["id"], VK_TEXT)
    checked = await _order(client, "check", token, order["id"])
    assert checked.status_code == 200
    body = checked.json()
    assert body["status"] == "RECEIVED"
    assert len(body["sms"]) == 1
    message = body["sms"][0]
    assert list(message) == ["created_at", "date", "sender", "text", "code"]
    assert (message["sender"], message["text"], message["code"]) == ("VKcom", VK_TEXT, "09363")
    assert message["date"].endswith("Z") and "." not in message["date"]
    finished = await _order(client, "finish", token, order["id"])
    assert finished.status_code == 200
    assert finished.json()["status"] == "FINISHED"
    user = await profile(client, token)
    assert (user["balance"], user["frozen_balance"], user["rating"]) == (79, 0, 96)
    with ctx.db.read() as s:
        vendor = s.scalar(select(ledger.Account).where(ledger.Account.key.like("fivesim:vendor:%")))
        assert vendor is not None and vendor.balance == 1680  # 21 RUB x 0.8
    assert_invariants(ctx)


async def test_cancel_and_ban_refund_and_cost_rating(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await stock(client)
    for action, status in (("cancel", "CANCELED"), ("ban", "BANNED")):
        _, token = await new_user(client, f"{action}.user@example.com", balance=100)
        order = (await buy(client, token)).json()
        answer = await _order(client, action, token, order["id"])
        assert answer.status_code == 200
        assert (answer.json()["status"], answer.json()["sms"]) == (status, None)
        user = await profile(client, token)
        assert (user["balance"], user["frozen_balance"], user["rating"]) == (100, 0, 95.9)
        assert_error(await _order(client, action, token, order["id"]), "order expired")
    assert_invariants(ctx)


async def test_rules_by_state(client: httpx.AsyncClient, ctx: AppContext) -> None:
    token, order = await _bought(client)
    assert_error(await _order(client, "finish", token, order["id"]), "order no sms")
    await sms(client, order["id"], "code 1234")
    assert_error(await _order(client, "cancel", token, order["id"]), "order has sms")
    assert_error(await _order(client, "ban", token, order["id"]), "order has sms")
    await sms(client, order["id"], "another code 5678")
    body = (await _order(client, "check", token, order["id"])).json()
    assert [m["code"] for m in body["sms"]] == ["1234", "5678"]
    assert_invariants(ctx)


async def test_unknown_or_foreign_order(client: httpx.AsyncClient) -> None:
    _, order = await _bought(client)
    _, other = await new_user(client, "other.user@example.com")
    assert_error(await _order(client, "check", other, order["id"]), "order not found", 404)
    for odd in ("abc", "²", "9" * 5000):
        assert_error(await _order(client, "check", other, odd), "order not found", 404)
    for beyond in (2**31, 10**18, 10**30):  # past the id column's range on PostgreSQL
        assert_error(await _order(client, "check", other, beyond), "order not found", 404)
        assert_error(await _order(client, "finish", other, beyond), "order not found")
    assert_error(await _order(client, "sms/inbox", other, order["id"]), "order not found", 404)
    for action in ("finish", "cancel", "ban"):
        assert_error(await _order(client, action, other, order["id"]), "order not found")
        assert_error(await _order(client, action, other, 999999), "order not found")


async def test_expiry_without_sms_times_out_and_refunds(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    token, order = await _bought(client)
    await advance(client, 15 * 60)
    body = (await _order(client, "check", token, order["id"])).json()
    assert body["status"] == "TIMEOUT"
    user = await profile(client, token)
    assert (user["balance"], user["frozen_balance"], user["rating"]) == (100, 0, 95.85)
    assert_error(await _order(client, "cancel", token, order["id"]), "order expired")
    assert_invariants(ctx)


async def test_expiry_with_sms_auto_finishes_and_charges(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await stock(client)
    _, token = await new_user(client, balance=100, rating=50)
    order = (await buy(client, token)).json()
    await sms(client, order["id"], VK_TEXT)
    await advance(client, 15 * 60 + 1)
    assert (await _order(client, "check", token, order["id"])).json()["status"] == "FINISHED"
    user = await profile(client, token)
    assert (user["balance"], user["frozen_balance"], user["rating"]) == (79, 0, 50.4)
    assert_invariants(ctx)


async def test_expiry_applies_lazily_on_read(client: httpx.AsyncClient, ctx: AppContext) -> None:
    token, order = await _bought(client)
    with ctx.db.write() as s:
        ctx.clock.advance(s, 15 * 60)  # no timer sweep: check must apply it
    assert (await _order(client, "check", token, order["id"])).json()["status"] == "TIMEOUT"
    assert_invariants(ctx)


async def test_buy_checks_in_documented_order(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await stock(client)
    await stock(client, "england", "vodafone", "telegram")
    _, token = await new_user(client, balance=10)
    assert_error(await buy(client, token, "narnia/beeline/vkontakte"), "bad country")
    assert_error(await buy(client, token, "russia/vodafone/vkontakte"), "bad operator")
    assert_error(await buy(client, token, "russia/nobody/vkontakte"), "bad operator")
    assert_error(await buy(client, token, "russia/beeline/nothing"), "no product")
    assert_error(await buy(client, token, "russia/beeline/1day"), "no product")
    assert_error(await buy(client, token, "russia/beeline/telegram"), "no free phones")
    assert_error(await buy(client, token, "russia/beeline/vkontakte"), "not enough user balance")
    _, broke = await new_user(client, "zero.rating@example.com", balance=100, rating=0)
    assert_error(await buy(client, broke, "russia/beeline/vkontakte"), "not enough rating")
    assert_invariants(ctx)


async def test_zero_rating_blocks_for_a_day_then_resets(client: httpx.AsyncClient) -> None:
    await stock(client)
    _, token = await new_user(client, balance=100, rating=0)
    assert_error(await buy(client, token), "not enough rating")
    await advance(client, 24 * 3600)
    assert (await buy(client, token)).status_code == 200
    assert (await profile(client, token))["rating"] == 96


async def test_any_any_picks_cheapest_then_most_stock(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await stock(client, "russia", "beeline", "telegram", count=1, price=10)
    await stock(client, "russia", "mts", "telegram", count=4, price=8)
    await stock(client, "england", "vodafone", "telegram", count=2, price=8)
    _, token = await new_user(client, balance=100)
    first = (await buy(client, token, "any/any/telegram")).json()
    assert (first["country"], first["operator"], first["price"]) == ("russia", "mts", 8)
    capped = await buy(client, token, "any/any/telegram", maxPrice="7")
    assert_error(capped, "no free phones")
    assert_invariants(ctx)


async def test_stock_runs_out_and_numbers_are_not_sold_twice(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await stock(client, count=2)
    _, token = await new_user(client, balance=100)
    phones = {(await buy(client, token)).json()["phone"] for _ in range(2)}
    assert len(phones) == 2
    assert_error(await buy(client, token), "no free phones")
    with ctx.db.read() as s:
        active = s.scalars(select(Order.active_number_id)).all()
    assert len(active) == len(set(active)) == 2


async def test_finished_number_is_not_reoffered_for_that_product(
    client: httpx.AsyncClient,
) -> None:
    await stock(client, count=1)
    _, token = await new_user(client, balance=100)
    order = (await buy(client, token)).json()
    await sms(client, order["id"], VK_TEXT)
    await _order(client, "finish", token, order["id"])
    assert_error(await buy(client, token), "no free phones")
    await stock(client, count=1)  # the sandbox vendor adds a fresh number
    assert (await buy(client, token)).json()["phone"] != order["phone"]


async def test_forwarding_number_is_echoed(client: httpx.AsyncClient) -> None:
    await stock(client)
    _, token = await new_user(client, balance=100)
    order = (await buy(client, token, forwarding="1", number="79001112233")).json()
    assert (order["forwarding"], order["forwarding_number"]) == (True, "79001112233")
    empty = (await buy(client, token, forwarding="", number="", reuse="", voice="")).json()
    assert (empty["forwarding"], empty["forwarding_number"]) == (False, "")


async def test_hosting_order(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await stock(client, product="1day", price=80)
    _, token = await new_user(client, balance=100)
    answer = await buy(client, token, "russia/any/1day", category="hosting")
    assert answer.status_code == 200, answer.text
    order = answer.json()
    assert list(order) == ORDER_KEYS
    assert (order["product"], order["operator"], order["country"]) == ("1day", "beeline", "russia")
    assert_error(await buy(client, token, "russia/any/vkontakte", category="hosting"), "no product")
    await sms(client, order["id"], "Use 415127 as your login code", sender="Facebook")
    checked = (await _order(client, "check", token, order["id"])).json()
    assert list(checked["sms"][0]) == ["id", "created_at", "date", "sender", "text", "code"]
    for action in ("finish", "cancel", "ban"):
        assert_error(await _order(client, action, token, order["id"]), "hosting order")
    await advance(client, 24 * 3600)
    assert (await _order(client, "check", token, order["id"])).json()["status"] == "FINISHED"
    user = await profile(client, token)
    assert (user["balance"], user["frozen_balance"], user["rating"]) == (20, 0, 96)
    assert_invariants(ctx)


async def test_inbox_lists_sms(client: httpx.AsyncClient) -> None:
    token, order = await _bought(client)
    empty = await _order(client, "sms/inbox", token, order["id"])
    assert empty.json() == {"Data": [], "Total": 0}
    await sms(client, order["id"], "12345", sender="+79998887060")
    body = (await _order(client, "sms/inbox", token, order["id"])).json()
    assert body["Total"] == 1
    row = body["Data"][0]
    assert list(row) == [
        "ID",
        "created_at",
        "date",
        "sender",
        "text",
        "code",
        "is_wave",
        "wave_uuid",
    ]
    assert (row["sender"], row["text"], row["code"], row["is_wave"], row["wave_uuid"]) == (
        "+79998887060",
        "12345",
        "12345",
        False,
        "",
    )


async def test_repeated_checks_follow_every_change(
    client: httpx.AsyncClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polls may be answered from the answer cache, but never with an outdated order."""
    token, order = await _bought(client)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    first = await _order(client, "check", token, order["id"])
    for engine in {ctx.db.read_engine, ctx.db.write_engine}:
        event.listen(engine, "before_cursor_execute", count)
    again = await _order(client, "check", token, order["id"])
    assert again.content == first.content
    cached = not statements
    assert cached == ctx.db.is_sqlite  # the cache lives on SQLite's data version
    # Past the order's next timer (its expiry) the poll reads again, commit or not.
    later = time.time() + 15 * 60 + 1
    monkeypatch.setattr("understudy.fivesim.api.time.time", lambda: later)
    statements.clear()
    await _order(client, "check", token, order["id"])
    assert statements
    monkeypatch.undo()
    # Another user's token never gets this answer.
    _, other = await new_user(client, email="other@example.com", balance=10)
    assert (await _order(client, "check", other, order["id"])).status_code == 404
    # Any commit (here an SMS) is visible to the very next poll.
    await sms(client, order["id"], VK_TEXT)
    received = (await _order(client, "check", token, order["id"])).json()
    assert received["status"] == "RECEIVED"
    assert [m["code"] for m in received["sms"]] == ["09363"]
    inbox = (await client.get(f"/v1/user/sms/inbox/{order['id']}", headers=bearer(token))).json()
    assert [m["code"] for m in inbox["Data"]] == ["09363"]
    for engine in {ctx.db.read_engine, ctx.db.write_engine}:
        event.remove(engine, "before_cursor_execute", count)
