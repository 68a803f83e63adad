"""Binary placement: outer spillover, balanced legs, the holding tank and leg aggregates."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.backoffice.conftest import Configure, assert_ledger_sound, create, member_id
from tests.conftest import ADMIN
from understudy.backoffice.models import BinaryNode, Member
from understudy.context import AppContext


def node(ctx: AppContext, username: str) -> BinaryNode | None:
    with ctx.db.read() as session:
        return session.scalar(
            select(BinaryNode)
            .join(Member, Member.id == BinaryNode.user_id)
            .where(Member.username == username)
        )


def where(ctx: AppContext, username: str) -> tuple[str | None, str | None]:
    """(parent's username, position) of a placed member."""
    found = node(ctx, username)
    assert found is not None, username
    with ctx.db.read() as session:
        parent = session.get(Member, found.parent_id) if found.parent_id else None
        return (parent.username if parent else None, found.position)


async def set_leg(client: httpx.AsyncClient, auth: dict[str, str], user: int, leg: str) -> None:
    r = await client.put(f"/api/v1/users/{user}", data={"default_leg": leg}, headers=auth)
    assert r.status_code == 200, r.text


async def test_outer_spillover_on_the_sponsors_leg(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    for name in ("left1", "left2", "left3"):
        await create(client, auth, user_name=name)
    assert where(ctx, "left1") == ("admin", "left")
    assert where(ctx, "left2") == ("left1", "left")
    assert where(ctx, "left3") == ("left2", "left")
    await set_leg(client, auth, 1, "right")
    await create(client, auth, user_name="right1")
    await create(client, auth, user_name="right2")
    assert where(ctx, "right2") == ("right1", "right")
    # A recruit of left1 with left1's default (left) goes to the bottom of left1's left line.
    await create(client, auth, user_name="deep", sponsor="left1")
    assert where(ctx, "deep") == ("left3", "left")
    root = node(ctx, "admin")
    assert root is not None and (root.left_count, root.right_count) == (4, 2)
    left1 = node(ctx, "left1")
    assert left1 is not None and (left1.left_count, left1.right_count) == (3, 0)
    deep = node(ctx, "deep")
    assert deep is not None and deep.sponsor_side == "left"


async def test_breadth_first_spillover_fills_levels_own_side_first(
    client: httpx.AsyncClient,
    ctx: AppContext,
    auth: dict[str, str],
    configure: Configure,
    fast_hash: None,
) -> None:
    """BINARY_SPILLOVER=breadth_first: the first free slot of the sponsor's leg, level by level,
    left to right, trying the leg's own side first at each node."""
    configure(binary_spillover="breadth_first")
    for name in ("bf1", "bf2", "bf3", "bf4", "bf5", "bf6"):
        await create(client, auth, user_name=name)
    assert [where(ctx, f"bf{n}") for n in range(1, 7)] == [
        ("admin", "left"),
        ("bf1", "left"),
        ("bf1", "right"),
        ("bf2", "left"),
        ("bf2", "right"),
        ("bf3", "left"),
    ]
    await set_leg(client, auth, 1, "right")
    for name in ("rt1", "rt2", "rt3"):
        await create(client, auth, user_name=name)
    assert [where(ctx, f"rt{n}") for n in range(1, 4)] == [
        ("admin", "right"),
        ("rt1", "right"),
        ("rt1", "left"),
    ]
    # A recruit of bf1 (leg left): bf1's left leg is full two levels down, so the next level.
    await create(client, auth, user_name="deep", sponsor="bf1")
    assert where(ctx, "deep") == ("bf4", "left")
    root, bf1 = node(ctx, "admin"), node(ctx, "bf1")
    assert root is not None and (root.left_count, root.right_count) == (7, 3)
    assert bf1 is not None and (bf1.left_count, bf1.right_count) == (4, 2)


async def test_balanced_takes_the_weaker_leg(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await set_leg(client, auth, 1, "balanced")
    for name in ("bal1", "bal2", "bal3", "bal4"):
        await create(client, auth, user_name=name)
    assert [where(ctx, n) for n in ("bal1", "bal2", "bal3", "bal4")] == [
        ("admin", "left"),
        ("admin", "right"),
        ("bal1", "left"),
        ("bal2", "right"),
    ]


async def test_holding_tank_manual_and_timed_placement(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await create(client, auth, user_name="anchor")  # admin's left leg
    await set_leg(client, auth, 1, "binary_tank")
    await create(client, auth, user_name="tanked")
    await create(client, auth, user_name="timed")
    await create(client, auth, user_name="recruit", sponsor="tanked")
    assert node(ctx, "tanked") is None and node(ctx, "recruit") is None
    r = await client.post(
        "/_understudy/backoffice/placements",
        json={"username": "tanked", "leg": "right"},
        headers=ADMIN,
    )
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert where(ctx, "tanked") == ("admin", "right")
    assert where(ctx, "recruit") == ("tanked", "left")  # placed right after its sponsor
    again = await client.post(
        "/_understudy/backoffice/placements",
        json={"username": "tanked", "leg": "left"},
        headers=ADMIN,
    )
    assert again.status_code == 400
    await client.post("/_understudy/clock", json={"advance": 8 * 86400 - 60}, headers=ADMIN)
    assert node(ctx, "timed") is None
    await client.post("/_understudy/clock", json={"advance": 60}, headers=ADMIN)
    # Counts: left 1 (anchor), right 2 (tanked, recruit): the weaker leg is the left.
    assert where(ctx, "timed") == ("anchor", "left")


async def test_purchase_volume_reaches_every_ancestor(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await client.post(
        "/_understudy/backoffice/credit",
        json={"username": "admin", "wallet_id": 3, "amount": "1000", "description": "top-up"},
        headers=ADMIN,
    )
    await create(client, auth, user_name="first")
    await create(client, auth, user_name="buyer", plan="Entrepreneur")
    root, first = node(ctx, "admin"), node(ctx, "first")
    assert root is not None and first is not None
    assert (root.vol_new_left, root.vol_new_right, root.active_directs_left) == (5000, 0, 1)
    assert (first.vol_new_left, first.left_count) == (5000, 1)
    assert member_id(ctx, "buyer") == 3
    assert_ledger_sound(ctx)
