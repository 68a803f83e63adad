"""The genealogy view: binary, matrix and sponsor trees, three levels below any member,
re-rooted by clicking a member and walked up by its parent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import event

from tests.console.backoffice.conftest import create, member_id
from understudy.console.backoffice.trees import SPONSOR_SHOWN
from understudy.context import AppContext

KINDS = ("binary", "matrix", "sponsor")
ROOT = re.compile(r'id="genealogy-root"\s+data-member-id="(\d+)" data-member="([^"]+)"')
UP = re.compile(r'id="genealogy-up" href="[^"]*\?member=(\d+)"')
NODE = re.compile(r'data-member-id="(\d+)" data-member="([^"]+)"')


def page(kind: str) -> str:
    return f"/admin/backoffice/genealogy/{kind}"


def drawn(html: str) -> set[str]:
    """Usernames of the members drawn in the tree (the root included)."""
    tree = html.split('id="genealogy-tree"', 1)[1]
    return {name for _, name in NODE.findall(tree)}


@pytest.fixture
async def line(signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext) -> list[str]:
    """A line of sponsors admin > mem1 > mem2 > mem3 > mem4, and mem5 under admin."""
    sponsors = {"mem1": "admin", "mem2": "mem1", "mem3": "mem2", "mem4": "mem3", "mem5": "admin"}
    for name, sponsor in sponsors.items():
        await create(signed_in, auth, user_name=name, sponsor=sponsor)
    return list(sponsors)


@pytest.mark.parametrize("kind", KINDS)
async def test_admin_is_the_default_root_with_three_levels_below(
    signed_in: httpx.AsyncClient, line: list[str], kind: str
) -> None:
    answer = await signed_in.get(page(kind))
    assert answer.status_code == 200
    assert ROOT.search(answer.text).groups() == ("1", "admin")  # type: ignore[union-attr]
    assert UP.search(answer.text) is None  # admin has no parent
    shown = drawn(answer.text)
    assert {"admin", "mem1", "mem2", "mem3"} <= shown
    assert "mem4" not in shown  # four levels down
    for other in KINDS:
        assert f'id="tree-{other}"' in answer.text


@pytest.mark.parametrize("kind", KINDS)
async def test_a_member_becomes_the_root_and_up_goes_to_its_parent(
    signed_in: httpx.AsyncClient, line: list[str], ctx: AppContext, kind: str
) -> None:
    mem1, mem2 = member_id(ctx, "mem1"), member_id(ctx, "mem2")
    for who in ("mem2", "MEM2", str(mem2)):
        answer = await signed_in.get(page(kind), params={"member": who})
        assert answer.status_code == 200
        assert ROOT.search(answer.text).groups() == (str(mem2), "mem2")  # type: ignore[union-attr]
        assert UP.search(answer.text).group(1) == str(mem1)  # type: ignore[union-attr]
        assert {"mem2", "mem3", "mem4"} <= drawn(answer.text)
        assert "mem1" not in drawn(answer.text) and "admin" not in drawn(answer.text)
    # Every drawn member links to the view rooted at it.
    assert f'href="http://testserver{page(kind)}?member={mem2}"' in answer.text


async def test_the_trees_agree_with_the_api(
    signed_in: httpx.AsyncClient, auth: dict[str, str], line: list[str]
) -> None:
    matrix = (await signed_in.get("/api/v1/matrixs/1", headers=auth)).json()["matrix"]
    kids = [matrix[f"child_{s}"]["user"]["usernname"] for s in ("left", "center") if matrix]
    shown = await signed_in.get(page("matrix"))
    assert kids == ["mem1", "mem5"]
    assert re.search(
        r'data-member="mem1" data-slot="left".*data-member="mem5" data-slot="center"',
        shown.text,
        re.S,
    )
    team = (await signed_in.get("/api/v1/teamviews/1", headers=auth)).json()["teamview"]
    assert {n["user"]["username"] for n in team} == {"mem1", "mem5"}
    sponsor = await signed_in.get(page("sponsor"))
    assert "mem1" in drawn(sponsor.text) and "mem5" in drawn(sponsor.text)


async def test_unknown_members_and_unplaced_ones(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext
) -> None:
    for kind in KINDS:
        for who in ("nobody", "9" * 5000, "0"):
            answer = await signed_in.get(page(kind), params={"member": who})
            assert answer.status_code == 404 and 'id="genealogy-missing"' in answer.text
    await create(signed_in, auth, user_name="tanker")
    tanker = member_id(ctx, "tanker")
    edit = await signed_in.put(
        f"/api/v1/users/{tanker}", data={"default_leg": "binary_tank"}, headers=auth
    )
    assert edit.status_code == 200, edit.text
    await create(signed_in, auth, user_name="waiting", sponsor="tanker")
    binary = await signed_in.get(page("binary"), params={"member": "waiting"})
    assert binary.status_code == 200
    assert "waiting is not placed yet (tank)." in binary.text
    sponsor = await signed_in.get(page("sponsor"), params={"member": "waiting"})
    assert ROOT.search(sponsor.text).group(2) == "waiting"  # type: ignore[union-attr]


async def test_the_sponsor_tree_counts_the_directs_it_does_not_draw(
    signed_in: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    for index in range(SPONSOR_SHOWN[0] + 2):
        await create(signed_in, auth, user_name=f"dir{index}")
    answer = await signed_in.get(page("sponsor"))
    assert len(drawn(answer.text)) == 1 + SPONSOR_SHOWN[0]
    assert 'data-more-of="1">+2 more</a>' in answer.text


@contextmanager
def statements(ctx: AppContext) -> Iterator[list[str]]:
    """The SQL statements run on the read engine meanwhile."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(ctx.db.read_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(ctx.db.read_engine, "before_cursor_execute", count)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_view_costs_a_few_queries_whatever_the_tree(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext, kind: str, line: list[str]
) -> None:
    with statements(ctx) as small:
        assert (await signed_in.get(page(kind))).status_code == 200
    for index in range(12):
        sponsor = "admin" if index < 4 else "mem1"
        await create(signed_in, auth, user_name=f"wid{index}", sponsor=sponsor)
    with statements(ctx) as bigger:
        assert (await signed_in.get(page(kind))).status_code == 200
    assert len(bigger) == len(small) <= 12
