"""Rendering of the sponsor tree (teamview) and the matrix, depth-limited."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from understudy.backoffice import genealogy
from understudy.backoffice.errors import form_errors
from understudy.backoffice.models import MatrixNode, Member, Plan, Purchase
from understudy.backoffice.views import profile_image

SLOTS = ("child_left", "child_center", "child_right")


def tree_member(session: Session, *, user_id: str) -> Member:
    """The member a tree is drawn for, else 404 `user_id doesn't exist.`."""
    text = user_id.strip()
    member = session.get(Member, int(text)) if text.isdigit() and 0 < int(text) < 2**31 else None
    if member is None:
        raise form_errors(404, {"user_id": ["user_id doesn't exist."]})
    return member


def plan_names(session: Session, user_ids: list[int]) -> dict[int, str]:
    """Each member's current plan name (plan of the latest purchase)."""
    if not user_ids:
        return {}
    latest = (
        select(Purchase.user_id, func.max(Purchase.id).label("purchase_id"))
        .where(Purchase.user_id.in_(user_ids))
        .group_by(Purchase.user_id)
        .subquery()
    )
    rows = session.execute(
        select(latest.c.user_id, Plan.name)
        .join(Purchase, Purchase.id == latest.c.purchase_id)
        .join(Plan, Plan.id == Purchase.plan_id)
    )
    return {user_id: name for user_id, name in rows}


def teamview(session: Session, *, member: Member, depth: int, asset_host: str) -> list[Any]:
    """The member's directs, each with its own directs, down to `depth` levels."""
    found = genealogy.downline(session, member_id=member.id, depth=depth)
    plans = plan_names(session, [m.id for m, _ in found])
    children: dict[int, list[tuple[Member, int]]] = defaultdict(list)
    for descendant, level in found:
        assert descendant.sponsor_id is not None
        children[descendant.sponsor_id].append((descendant, level))

    def nodes(parent_id: int) -> list[Any]:
        return [
            {
                "user": {
                    "id": m.id,
                    "username": m.username,
                    "first_name": m.first_name,
                    "last_name": m.last_name,
                    "email": m.email,
                    "level": level,
                    "plan": plans.get(m.id),
                    "image_url": profile_image(m, asset_host=asset_host),
                },
                "childs": nodes(m.id) if level < depth else [],
            }
            for m, level in children[parent_id]
        ]

    return nodes(member.id)


def matrix(session: Session, *, member: Member, depth: int, asset_host: str) -> dict[str, Any]:
    """The member's matrix down to `depth` levels; empty slots are `{}`."""
    levels: list[list[MatrixNode]] = []
    frontier = [member.id]
    by_parent: dict[int, dict[int, MatrixNode]] = defaultdict(dict)
    for _ in range(depth):
        if not frontier:
            break
        kids = list(session.scalars(select(MatrixNode).where(MatrixNode.parent_id.in_(frontier))))
        for kid in kids:
            assert kid.parent_id is not None and kid.slot is not None
            by_parent[kid.parent_id][kid.slot] = kid
        levels.append(kids)
        frontier = [k.user_id for k in kids]
    ids = [member.id] + [k.user_id for level in levels for k in level]
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))}
    plans = plan_names(session, ids)

    def node(user_id: int, level: int) -> dict[str, Any]:
        m = members[user_id]
        body: dict[str, Any] = {
            "user": {
                "id": m.id,
                "usernname": m.username,
                "plan": plans.get(m.id),
                "image": profile_image(m, asset_host=asset_host),
                "level": level,
            }
        }
        slots = by_parent.get(user_id, {}) if level < depth else {}
        for slot, name in enumerate(SLOTS):
            kid = slots.get(slot)
            body[name] = {} if kid is None else node(kid.user_id, level + 1)
        body["last_node"] = level >= depth or not slots
        return body

    return node(member.id, 0)
