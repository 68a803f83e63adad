"""Three levels of a genealogy tree (binary, matrix or sponsor) below any member.

Each level is one indexed read of the previous level's children, so a view costs three small
queries whatever the organisation's size; the sponsor tree shows only the first children of
each member (the rest are counted from the members' stored direct counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from understudy.backoffice import trees
from understudy.backoffice.models import BinaryNode, MatrixNode, Member
from understudy.console.backoffice.lookup import plan_name

DEPTH = 3
KINDS = ("binary", "matrix", "sponsor")
BINARY_SIDES = ("left", "right")
MATRIX_SLOTS = ("left", "center", "right")
# Sponsor tree: at most this many directs shown under a member, per level below the root.
SPONSOR_SHOWN = (6, 4, 2)


@dataclass
class Node:
    """A member in a drawn tree; `slot` names an empty position when `id` is None."""

    id: int | None
    username: str = ""
    plan: str | None = None
    slot: str = ""
    note: str = ""
    children: list[Node] = field(default_factory=list)
    more: int = 0  # children not drawn


@dataclass
class Tree:
    """A drawn tree: the root, its parent in that tree (for "up"), and why it may be missing."""

    root: Node | None
    parent_id: int | None
    problem: str = ""


def draw(session: Session, kind: str, member: Member) -> Tree:
    """Three levels of the `kind` tree below the member."""
    if kind == "binary":
        return binary(session, member)
    if kind == "matrix":
        return matrix(session, member)
    return sponsor(session, member)


def _empty(slot: str) -> Node:
    return Node(id=None, slot=slot)


def binary(session: Session, member: Member) -> Tree:
    """The binary tree below the member (empty legs drawn as empty slots)."""
    node = session.get(BinaryNode, member.id)
    if node is None:
        return Tree(None, None, f"{member.username} is not placed yet ({member.binary_state}).")
    columns = (
        BinaryNode.user_id,
        BinaryNode.parent_id,
        BinaryNode.position,
        BinaryNode.left_count,
        BinaryNode.right_count,
        Member.username,
        plan_name(BinaryNode.user_id).label("plan"),
    )
    top = session.execute(
        select(*columns)
        .join(Member, Member.id == BinaryNode.user_id)
        .where(BinaryNode.user_id == member.id)
    ).one()
    by_parent: dict[int, dict[str, Any]] = {}
    frontier = [member.id]
    for _ in range(DEPTH):
        if not frontier:
            break
        rows = session.execute(
            select(*columns)
            .join(Member, Member.id == BinaryNode.user_id)
            .where(BinaryNode.parent_id.in_(frontier))
        ).all()
        for row in rows:
            by_parent.setdefault(row.parent_id, {})[row.position] = row
        frontier = [row.user_id for row in rows]

    def build(row: Any, level: int) -> Node:
        drawn = Node(
            row.user_id,
            row.username,
            row.plan,
            slot=row.position or "",
            note=f"L {row.left_count} · R {row.right_count}",
        )
        if level < DEPTH:
            kids = by_parent.get(row.user_id, {})
            drawn.children = [
                build(kids[side], level + 1) if side in kids else _empty(side)
                for side in BINARY_SIDES
            ]
        return drawn

    return Tree(build(top, 0), node.parent_id)


def matrix(session: Session, member: Member) -> Tree:
    """The forced matrix below the member, read by the API's matrix query."""
    parent = session.scalar(select(MatrixNode.parent_id).where(MatrixNode.user_id == member.id))
    drawn = trees.matrix(session, member=member, depth=DEPTH, asset_host="")

    def build(body: dict[str, Any], slot: str) -> Node:
        user = body["user"]
        node = Node(user["id"], user["usernname"], user["plan"], slot=slot)
        if user["level"] < DEPTH:
            node.children = [
                build(body[f"child_{name}"], name) if body[f"child_{name}"] else _empty(name)
                for name in MATRIX_SLOTS
            ]
        return node

    return Tree(build(drawn, ""), parent)


def first_directs(parents: list[int], limit: int) -> Any:
    """The first `limit` directs (by id) of each parent, with their plans: one statement whose
    branches each read at most `limit` rows of the sponsor index, however many directs a
    member has."""
    branches = [
        select(Member.id, Member.username, Member.sponsor_id, Member.direct_count)
        .where(Member.sponsor_id == parent)
        .order_by(Member.id)
        .limit(limit)
        .subquery()
        for parent in parents
    ]
    found = union_all(*(select(branch) for branch in branches)).subquery()
    return select(found, plan_name(found.c.id).label("plan")).order_by(
        found.c.sponsor_id, found.c.id
    )


def sponsor(session: Session, member: Member) -> Tree:
    """The sponsor tree below the member: each member's first directs by id, the rest counted."""
    root = Node(member.id, member.username, note=f"{member.direct_count} directs")
    root.plan = session.scalar(select(plan_name(member.id)))
    nodes = {member.id: root}
    counts = {member.id: member.direct_count}
    frontier = [member.id]
    for level in range(DEPTH):
        if not frontier:
            break
        rows = session.execute(first_directs(frontier, SPONSOR_SHOWN[level])).all()
        for row in rows:
            child = Node(row.id, row.username, row.plan, note=f"{row.direct_count} directs")
            nodes[row.sponsor_id].children.append(child)
            nodes[row.id] = child
            counts[row.id] = row.direct_count
        for parent_id in frontier:
            parent = nodes[parent_id]
            parent.more = max(0, counts[parent_id] - len(parent.children))
        frontier = [row.id for row in rows]
    return Tree(root, member.sponsor_id)
