"""Genealogy: teamview (sponsor tree) and the forced matrix, with a property test of placement."""

from __future__ import annotations

import itertools
from collections import deque
from datetime import UTC, datetime

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.backoffice.conftest import create, member_id
from understudy.backoffice import genealogy
from understudy.backoffice.models import MatrixNode, Member
from understudy.context import AppContext

ICON = "http://testserver/assets/user-icon-white.svg"
NOT_THERE = {"errors": {"user_id": ["user_id doesn't exist."]}}


async def test_teamview_nests_directs(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await create(client, auth, user_name="aa1")
    await create(client, auth, user_name="bb1", sponsor="aa1")
    await create(client, auth, user_name="cc1", sponsor="bb1")
    await create(client, auth, user_name="dd1", sponsor="cc1")
    await create(client, auth, user_name="aa2")
    r = await client.get("/api/v1/teamviews/1", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["teamview"]
    first, second = body["teamview"]
    assert first["user"] == {
        "id": member_id(ctx, "aa1"),
        "username": "aa1",
        "first_name": "Oscar Danilo",
        "last_name": "Rivera Moreira",
        "email": "aa1@example.com",
        "level": 1,
        "plan": "Free Plan",
        "image_url": ICON,
    }
    assert second["user"]["username"] == "aa2" and second["childs"] == []
    b1 = first["childs"][0]
    assert b1["user"]["level"] == 2
    c1 = b1["childs"][0]
    assert c1["user"]["username"] == "cc1" and c1["user"]["level"] == 3
    assert c1["childs"] == []  # TEAMVIEW_DEPTH = 3
    r = await client.get(f"/api/v1/teamviews/{member_id(ctx, 'cc1')}", headers=auth)
    assert [n["user"]["username"] for n in r.json()["teamview"]] == ["dd1"]


async def test_tree_of_unknown_user(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for path in ("teamviews/99", "matrixs/99", "teamviews/x", "matrixs/0"):
        r = await client.get(f"/api/v1/{path}", headers=auth)
        assert (r.status_code, r.json()) == (404, NOT_THERE), path


async def test_matrix_golden_shape(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/matrixs/1", headers=auth)
    assert r.status_code == 200
    assert r.json() == {
        "matrix": {
            "user": {"id": 1, "usernname": "admin", "plan": "Free Plan", "image": ICON, "level": 0},
            "child_left": {},
            "child_center": {},
            "child_right": {},
            "last_node": True,
        }
    }
    for name in ("mm1", "mm2", "mm3", "mm4"):
        await create(client, auth, user_name=name)
    body = (await client.get("/api/v1/matrixs/1.json", headers=auth)).json()["matrix"]
    assert list(body) == ["user", "child_left", "child_center", "child_right", "last_node"]
    assert body["last_node"] is False
    assert [
        body[s]["user"]["usernname"] for s in ("child_left", "child_center", "child_right")
    ] == [
        "mm1",
        "mm2",
        "mm3",
    ]
    left = body["child_left"]
    assert left["user"]["level"] == 1 and left["last_node"] is False
    assert left["child_left"]["user"]["usernname"] == "mm4"  # spillover below m1
    assert left["child_left"]["last_node"] is True
    assert body["child_center"]["last_node"] is True


def reference_bfs(kids: dict[int, list[int]], sponsor: int) -> tuple[int, int]:
    """The contract's reference placement: first node under the sponsor with a free slot."""
    queue = deque([sponsor])
    while queue:
        node = queue.popleft()
        if len(kids[node]) < 3:
            return node, len(kids[node])
        queue.extend(kids[node])
    raise AssertionError("unreachable")


_names = itertools.count()


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(choices=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40))
def test_matrix_placement_matches_the_reference_bfs(ctx: AppContext, choices: list[int]) -> None:
    now = datetime.now(UTC)
    with ctx.db.write() as session:

        def new_member() -> int:
            name = f"p{next(_names)}"
            member = Member(
                username=name,
                username_key=name,
                email=f"{name}@x.io",
                email_key=f"{name}@x.io",
                first_name="P",
                last_name="Q",
                mobile="1",
                country_code="US",
                password_hash="-",
                created_at=now,
            )
            session.add(member)
            session.flush()
            return member.id

        root = new_member()
        genealogy.place_matrix(session, member_id=root, sponsor_id=None, width=3)
        members, kids = [root], {root: []}
        for choice in choices:
            sponsor = members[choice % len(members)]
            expected = reference_bfs(kids, sponsor)
            placed = new_member()
            genealogy.place_matrix(session, member_id=placed, sponsor_id=sponsor, width=3)
            node = session.scalars(select(MatrixNode).where(MatrixNode.user_id == placed)).one()
            assert (node.parent_id, node.slot) == expected
            kids[expected[0]].append(placed)
            kids[placed] = []
            members.append(placed)
