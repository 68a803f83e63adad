"""The binary run at each period boundary: lesser leg paid, the rest carried."""

from __future__ import annotations

import httpx

from tests.backoffice.conftest import advance, assert_ledger_sound, create, member_id
from tests.backoffice.test_binary import node
from tests.conftest import ADMIN
from understudy.backoffice.binary_run import next_boundary
from understudy.context import AppContext


async def fund(client: httpx.AsyncClient, username: str) -> None:
    r = await client.post(
        "/_understudy/backoffice/credit",
        json={"username": username, "wallet_id": 3, "amount": "1000", "description": "ABCD"},
        headers=ADMIN,
    )
    assert r.status_code == 200


async def test_period_pays_the_matched_volume_and_carries_the_rest(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str], admin_pw: str
) -> None:
    await fund(client, "admin")
    await create(client, auth, user_name="leader", plan="Entrepreneur")
    leader = member_id(ctx, "leader")
    await fund(client, "leader")
    await create(client, auth, user_name="lefty", sponsor="leader", plan="Entrepreneur")
    r = await client.put(f"/api/v1/users/{leader}", data={"default_leg": "right"}, headers=auth)
    assert r.status_code == 200
    await create(client, auth, user_name="righty", sponsor="leader", plan="Entrepreneur")
    await create(client, auth, user_name="righty2", sponsor="leader", plan="Entrepreneur")
    before = node(ctx, "leader")
    assert before is not None
    assert (before.vol_new_left, before.vol_new_right) == (5000, 10000)
    with ctx.db.read() as session:
        now = ctx.now(session)
    await advance(client, auth, (next_boundary(now) - now).total_seconds(), admin_pw)
    after = node(ctx, "leader")
    assert after is not None
    assert (after.vol_new_left, after.vol_new_right) == (0, 0)
    assert (after.carry_left, after.carry_right) == (0, 5000)
    r = await client.get(f"/api/v1/wallets/5?user_id={leader}&page=1", headers=auth)
    binary = [x for x in r.json()["list"] if x["description"] == "Binary Bonus"]
    assert [x["amount"] for x in binary] == ["5.0"]
    # admin holds the Free Plan (no binary rate): it only carries.
    root = node(ctx, "admin")
    assert root is not None and (root.carry_left, root.carry_right) == (20000, 0)
    # The next period has nothing new to match: no zero rows are written.
    await advance(client, auth, 86400, admin_pw)
    r = await client.get(f"/api/v1/wallets/5?user_id={leader}&page=1", headers=auth)
    assert [x["description"] for x in r.json()["list"]].count("Binary Bonus") == 1
    assert_ledger_sound(ctx)
