"""BINARY_MODE=pairs: whole pairs of leg volume, with an optional 2:1 / 1:2 first pair."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from tests.backoffice.conftest import Configure, advance, assert_ledger_sound, create, member_id
from tests.backoffice.test_binary import node
from tests.backoffice.test_binary_run import fund
from understudy.backoffice.binary_run import match_pairs, next_boundary
from understudy.backoffice.models import Plan
from understudy.context import AppContext


def plan(first_pair: str) -> Plan:
    return Plan(name="P", pair_left=100, pair_right=200, pair_value=7, first_pair=first_pair)


@pytest.mark.parametrize(
    ("first_pair", "first", "left", "right", "expected"),
    [
        ("1:1", True, 350, 650, (21, 300, 600, 3)),
        ("1:1", False, 99, 650, (0, 0, 0, 0)),
        ("2:1", True, 350, 650, (14, 300, 400, 2)),
        ("2:1", True, 199, 650, (0, 0, 0, 0)),
        ("2:1", False, 199, 650, (7, 100, 200, 1)),
        ("1:2", True, 350, 650, (14, 200, 600, 2)),
        ("1:2", True, 350, 399, (0, 0, 0, 0)),
        ("1:2", True, 150, 400, (7, 100, 400, 1)),
    ],
)
def test_pairs_are_whole_and_the_first_may_need_two_to_one(
    first_pair: str, first: bool, left: int, right: int, expected: tuple[int, int, int, int]
) -> None:
    assert match_pairs(plan(first_pair), left, right, first=first) == expected


async def test_pairs_mode_pays_per_pair_and_carries_the_rest(
    client: httpx.AsyncClient,
    ctx: AppContext,
    auth: dict[str, str],
    admin_pw: str,
    configure: Configure,
    fast_hash: None,
) -> None:
    configure(binary_mode="pairs")
    with ctx.db.write() as session:
        session.execute(update(Plan).where(Plan.name == "Entrepreneur").values(first_pair="1:2"))
    await fund(client, "admin")
    await create(client, auth, user_name="leader", plan="Entrepreneur")
    leader = member_id(ctx, "leader")
    await fund(client, "leader")
    await create(client, auth, user_name="lefty", sponsor="leader", plan="Entrepreneur")
    await client.put(f"/api/v1/users/{leader}", data={"default_leg": "right"}, headers=auth)
    await create(client, auth, user_name="righty", sponsor="leader", plan="Entrepreneur")
    await create(client, auth, user_name="righty2", sponsor="leader", plan="Entrepreneur")
    await create(client, auth, user_name="righty3", sponsor="leader", plan="Entrepreneur")
    with ctx.db.read() as session:
        now = ctx.now(session)
    await advance(client, auth, (next_boundary(now) - now).total_seconds(), admin_pw)
    # First pair 1:2: 50 BV left against 100 BV right pays one pair (5.0); 50 right carried.
    after = node(ctx, "leader")
    assert after is not None
    assert (after.carry_left, after.carry_right, after.pairs_paid) == (0, 5000, 1)
    await client.put(f"/api/v1/users/{leader}", data={"default_leg": "left"}, headers=auth)
    await create(client, auth, user_name="lefty2", sponsor="leader", plan="Entrepreneur")
    await advance(client, auth, 86400, admin_pw)
    # Later pairs are 1:1: 50 new left against 50 carried right.
    after = node(ctx, "leader")
    assert after is not None
    assert (after.carry_left, after.carry_right, after.pairs_paid) == (0, 0, 2)
    r = await client.get(f"/api/v1/wallets/5?user_id={leader}&page=1", headers=auth)
    binary = [x["amount"] for x in r.json()["list"] if x["description"] == "Binary Bonus"]
    assert binary == ["5.0", "5.0"]
    assert_ledger_sound(ctx)
