"""Rendering of the sponsor tree (teamview) and the matrix, depth-limited."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.backoffice.errors import form_errors
from understudy.backoffice.models import MatrixNode, Member, Plan, Purchase
from understudy.backoffice.views import DEFAULT_IMAGE
from understudy.core.db import parse_id, row_by_id

SLOTS = ("child_left", "child_center", "child_right")


def tree_member(session: Session, *, user_id: str) -> Member:
    """The member a tree is drawn for, else 404 `user_id doesn't exist.`."""
    member = row_by_id(session, Member, parse_id(user_id))
    if member is None:
        raise form_errors(404, {"user_id": ["user_id doesn't exist."]})
    return member


def _current_plan_name() -> Any:
    """The member's current plan name, as a correlated column (one index probe per member)."""
    return (
        select(Plan.name)
        .join(Purchase, Purchase.plan_id == Plan.id)
        .where(Purchase.user_id == Member.id)
        .order_by(Purchase.id.desc())
        .limit(1)
        .correlate(Member)
        .scalar_subquery()
        .label("plan")
    )


def _image(row: Any, asset_host: str) -> str:
    if row.profile_image:
        return f"{asset_host}/uploads/user/profile_image/{row.id}/{row.profile_image}"
    return asset_host + DEFAULT_IMAGE


def teamview(session: Session, *, member: Member, depth: int, asset_host: str) -> list[Any]:
    """The member's directs, each with its own directs, down to `depth` levels.

    One read per level by `sponsor_id` (exactly that level's members, with their plans):
    planners misjudge the closure for members high in a big tree.
    """
    columns = (
        Member.id,
        Member.username,
        Member.first_name,
        Member.last_name,
        Member.email,
        Member.profile_image,
        Member.sponsor_id,
        _current_plan_name(),
    )
    children: dict[int, list[Any]] = defaultdict(list)
    frontier = [member.id]
    for _ in range(depth):
        if not frontier:
            break
        rows = session.execute(
            select(*columns).where(Member.sponsor_id.in_(frontier)).order_by(Member.id)
        ).all()
        for row in rows:
            children[row.sponsor_id].append(row)
        frontier = [row.id for row in rows]

    def nodes(parent_id: int, level: int) -> list[Any]:
        return [
            {
                "user": {
                    "id": m.id,
                    "username": m.username,
                    "first_name": m.first_name,
                    "last_name": m.last_name,
                    "email": m.email,
                    "level": level,
                    "plan": m.plan,
                    "image_url": _image(m, asset_host),
                },
                "childs": nodes(m.id, level + 1) if level < depth else [],
            }
            for m in children[parent_id]
        ]

    return nodes(member.id, 1)


def matrix(session: Session, *, member: Member, depth: int, asset_host: str) -> dict[str, Any]:
    """The member's matrix down to `depth` levels; empty slots are `{}`.

    One read per level (the nodes under the previous level, with their members and plans).
    """
    columns = (
        MatrixNode.parent_id,
        MatrixNode.slot,
        Member.id,
        Member.username,
        Member.profile_image,
        _current_plan_name(),
    )
    top = session.execute(
        select(Member.id, Member.username, Member.profile_image, _current_plan_name()).where(
            Member.id == member.id
        )
    ).one()
    by_parent: dict[int, dict[int, Any]] = defaultdict(dict)
    frontier = [member.id]
    for _ in range(depth):
        if not frontier:
            break
        rows = session.execute(
            select(*columns)
            .join(Member, Member.id == MatrixNode.user_id)
            .where(MatrixNode.parent_id.in_(frontier))
        ).all()
        for row in rows:
            by_parent[row.parent_id][row.slot] = row
        frontier = [row.id for row in rows]

    def node(m: Any, level: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user": {
                "id": m.id,
                "usernname": m.username,
                "plan": m.plan,
                "image": _image(m, asset_host),
                "level": level,
            }
        }
        slots = by_parent.get(m.id, {}) if level < depth else {}
        for slot, name in enumerate(SLOTS):
            kid = slots.get(slot)
            body[name] = {} if kid is None else node(kid, level + 1)
        body["last_node"] = level >= depth or not slots
        return body

    return node(top, 0)
