"""The binary tree: placement by the sponsor's leg, the holding tank, and leg aggregates."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from understudy.backoffice import genealogy
from understudy.backoffice.models import BinaryNode, Member, Purchase
from understudy.backoffice.settings import get_settings
from understudy.core import timers

TANK_TIMER = "backoffice.tank"
SIDES = ("left", "right")


class NotInTank(Exception):
    """The member is not waiting in the holding tank."""


def _node(session: Session, user_id: int, *, lock: bool = False) -> BinaryNode | None:
    stmt = select(BinaryNode).where(BinaryNode.user_id == user_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def _child(session: Session, parent_id: int, side: str) -> BinaryNode | None:
    return session.scalar(
        select(BinaryNode)
        .where(BinaryNode.parent_id == parent_id, BinaryNode.position == side)
        .execution_options(populate_existing=True)
    )


def add_root(session: Session, *, member: Member) -> None:
    """The root member's node."""
    session.add(BinaryNode(user_id=member.id, parent_id=None, position=None))
    session.flush()


def weaker_leg(node: BinaryNode) -> str:
    """The leg with fewer members (or less volume, per BALANCED_MEASURE); ties go left."""
    if get_settings().balanced_measure == "volume":
        left = node.carry_left + node.vol_new_left
        right = node.carry_right + node.vol_new_right
    else:
        left, right = node.left_count, node.right_count
    return "right" if right < left else "left"


def place(session: Session, *, member: Member, now: datetime) -> None:
    """Place a new member by its sponsor's default leg (or park it in the holding tank)."""
    sponsor = session.get(Member, member.sponsor_id) if member.sponsor_id else None
    if sponsor is None:
        add_root(session, member=member)
        return
    if sponsor.binary_state != "placed":
        member.binary_state = "waiting"
        return
    if sponsor.default_leg == "binary_tank":
        member.binary_state = "tank"
        member.tank_until = now + timedelta(days=get_settings().tank_days)
        timers.schedule(session, kind=TANK_TIMER, key=str(member.id), due_at=member.tank_until)
        return
    top = _node(session, sponsor.id, lock=True)
    assert top is not None
    side = weaker_leg(top) if sponsor.default_leg == "balanced" else sponsor.default_leg
    _attach_under(session, member=member, sponsor_node=top, side=side)


def place_from_tank(session: Session, *, member: Member, side: str | None, now: datetime) -> None:
    """Place a tanked member on the given leg of its sponsor (the weaker one when None)."""
    if member.binary_state != "tank":
        raise NotInTank(member.username)
    genealogy.lock_placements(session)
    assert member.sponsor_id is not None
    top = _node(session, member.sponsor_id, lock=True)
    assert top is not None
    timers.cancel(session, kind=TANK_TIMER, key=str(member.id))
    member.tank_until = None
    _attach_under(session, member=member, sponsor_node=top, side=side or weaker_leg(top))


def _bottom(session: Session, start: BinaryNode, side: str) -> BinaryNode:
    """Where a new member lands in this leg: outer chain bottom, or first free slot (BFS)."""
    if get_settings().binary_spillover == "outer":
        while True:
            locked = _node(session, _outer_bottom(session, start.user_id, side), lock=True)
            assert locked is not None
            if _child(session, locked.user_id, side) is None:
                return locked
    first = _child(session, start.user_id, side)
    if first is None:
        return start
    queue = deque([first])
    while queue:
        node = queue.popleft()
        for position in SIDES:
            if _child(session, node.user_id, position) is None:
                return node
        queue.extend(n for p in SIDES if (n := _child(session, node.user_id, p)) is not None)
    raise AssertionError("a finite tree always has a free slot")


def _outer_bottom(session: Session, start_id: int, side: str) -> int:
    """The last node of the start's outer line on this side (one recursive CTE)."""
    first = (
        select(BinaryNode.user_id, literal(1).label("depth"))
        .where(BinaryNode.parent_id == start_id, BinaryNode.position == side)
        .cte("outer_line", recursive=True)
    )
    step = (
        select(BinaryNode.user_id, first.c.depth + 1)
        .join(first, BinaryNode.parent_id == first.c.user_id)
        .where(BinaryNode.position == side)
    )
    line = first.union_all(step)
    bottom = session.scalar(select(line.c.user_id).order_by(line.c.depth.desc()).limit(1))
    return start_id if bottom is None else bottom


def _attach_under(session: Session, *, member: Member, sponsor_node: BinaryNode, side: str) -> None:
    parent = _bottom(session, sponsor_node, side)
    position = side if _child(session, parent.user_id, side) is None else _free(session, parent)
    node = BinaryNode(
        user_id=member.id, parent_id=parent.user_id, position=position, sponsor_side=side
    )
    session.add(node)
    member.binary_state = "placed"
    session.flush()
    _propagate(session, member_id=member.id, count=1, volume=_bought_volume(session, member.id))
    if _is_active(session, member.id):
        column = f"active_directs_{side}"
        session.execute(
            update(BinaryNode)
            .where(BinaryNode.user_id == sponsor_node.user_id)
            .values({column: getattr(BinaryNode, column) + 1})
        )
    _place_waiting_recruits(session, member=member)


def _free(session: Session, parent: BinaryNode) -> str:
    return next(p for p in SIDES if _child(session, parent.user_id, p) is None)


def _place_waiting_recruits(session: Session, *, member: Member) -> None:
    waiting = session.scalars(
        select(Member)
        .where(Member.sponsor_id == member.id, Member.binary_state == "waiting")
        .order_by(Member.id)
    )
    for recruit in list(waiting):
        place(session, member=recruit, now=recruit.created_at)


def _bought_volume(session: Session, member_id: int) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.sum(Purchase.bv), 0)).where(Purchase.user_id == member_id)
        )
        or 0
    )


def _is_active(session: Session, member_id: int) -> bool:
    found = session.scalar(
        select(Purchase.id).where(Purchase.user_id == member_id, Purchase.price > 0).limit(1)
    )
    return found is not None


def ancestors(session: Session, *, member_id: int) -> list[tuple[int, str]]:
    """Every binary ancestor with the side the member hangs on, nearest first (one CTE)."""
    start = (
        select(
            BinaryNode.parent_id.label("ancestor"),
            BinaryNode.position.label("side"),
            literal(1).label("depth"),
        )
        .where(BinaryNode.user_id == member_id, BinaryNode.parent_id.is_not(None))
        .cte("binary_ancestors", recursive=True)
    )
    step = (
        select(BinaryNode.parent_id, BinaryNode.position, start.c.depth + 1)
        .join(start, BinaryNode.user_id == start.c.ancestor)
        .where(BinaryNode.parent_id.is_not(None))
    )
    tree = start.union_all(step)
    rows = session.execute(select(tree.c.ancestor, tree.c.side).order_by(tree.c.depth))
    return [(ancestor, side) for ancestor, side in rows]


def _propagate(session: Session, *, member_id: int, count: int, volume: int) -> None:
    """Add members and/or volume to every ancestor's leg on the member's side."""
    by_side: dict[str, list[int]] = {"left": [], "right": []}
    for ancestor, side in ancestors(session, member_id=member_id):
        by_side[side].append(ancestor)
    for side, ids in by_side.items():
        if not ids:
            continue
        values: dict[str, Any] = {}
        if count:
            values[f"{side}_count"] = getattr(BinaryNode, f"{side}_count") + count
        if volume:
            values[f"vol_new_{side}"] = getattr(BinaryNode, f"vol_new_{side}") + volume
        if values:
            session.execute(update(BinaryNode).where(BinaryNode.user_id.in_(ids)).values(values))


def add_volume(session: Session, *, member: Member, bv: int, newly_active: bool) -> None:
    """A purchase: BV up the binary tree, and an active direct for the sponsor's leg."""
    node = _node(session, member.id)
    if node is None:  # still in the tank or waiting: counted at placement
        return
    if bv:
        _propagate(session, member_id=member.id, count=0, volume=bv)
    if newly_active and node.sponsor_side is not None and member.sponsor_id is not None:
        column = f"active_directs_{node.sponsor_side}"
        session.execute(
            update(BinaryNode)
            .where(BinaryNode.user_id == member.sponsor_id)
            .values({column: getattr(BinaryNode, column) + 1})
        )


@timers.handler(TANK_TIMER)
def _tank_expired(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """The holding period ended: place the member on the sponsor's weaker leg."""
    member = session.get(Member, int(key))
    if member is not None and member.binary_state == "tank":
        place_from_tank(session, member=member, side=None, now=now)


def node_of(session: Session, *, member_id: int) -> BinaryNode | None:
    """The member's binary node (None while in the tank)."""
    return _node(session, member_id)
