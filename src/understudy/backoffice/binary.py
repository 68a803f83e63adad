"""The binary tree: placement by the sponsor's leg, the holding tank, and leg aggregates."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from understudy.backoffice import genealogy
from understudy.backoffice.models import BinaryNode, Member, Purchase
from understudy.backoffice.settings import get_settings
from understudy.core import timers

TANK_TIMER = "backoffice.tank"
SIDES = ("left", "right")


class NotInTank(Exception):
    """The member is not waiting in the holding tank."""


# The hot statements are built once, with bound parameters: building a statement costs
# several times more CPU than executing a cached one.
FRESH = {"populate_existing": True}
NODE = select(BinaryNode).where(BinaryNode.user_id == bindparam("user_id"))
NODE_LOCKED = NODE.with_for_update()
CHILD = select(BinaryNode).where(
    BinaryNode.parent_id == bindparam("parent_id"), BinaryNode.position == bindparam("side")
)


def _node(session: Session, user_id: int, *, lock: bool = False) -> BinaryNode | None:
    stmt = NODE_LOCKED if lock and session.get_bind().dialect.name == "postgresql" else NODE
    return session.scalar(stmt, {"user_id": user_id}, execution_options=FRESH)


def _child(session: Session, parent_id: int, side: str) -> BinaryNode | None:
    return session.scalar(CHILD, {"parent_id": parent_id, "side": side}, execution_options=FRESH)


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


def place(
    session: Session, *, member: Member, now: datetime, bought: tuple[int, bool] | None = None
) -> None:
    """Place a new member by its sponsor's default leg (or park it in the holding tank).

    `bought`: the member's BV and whether it is active, when the caller knows (a sign-up).
    """
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
    if sponsor.default_leg != "balanced" and get_settings().binary_spillover == "outer":
        side = sponsor.default_leg
        # The sponsor's node (locked) and the bottom of its line on that leg, in one query.
        stmt = OUTER_BOTTOM_LOCKED if _is_postgresql(session) else OUTER_BOTTOM_OF
        bottom = session.connection().execute(stmt[side], {"start": sponsor.id}).scalar_one()
        _attach_under(
            session, member=member, sponsor_id=sponsor.id, side=side, slot=bottom, bought=bought
        )
        return
    top = _node(session, sponsor.id, lock=True)
    assert top is not None
    side = weaker_leg(top) if sponsor.default_leg == "balanced" else sponsor.default_leg
    _attach_under(session, member=member, sponsor_id=top.user_id, side=side, bought=bought)


def outer_side(sponsor: Member) -> str | None:
    """The leg where a new recruit of this sponsor goes straight down by outer spillover;
    None when its placement takes more (the tank, a balanced leg, breadth-first spillover,
    a sponsor not placed yet)."""
    if sponsor.binary_state != "placed" or sponsor.default_leg not in SIDES:
        return None
    return sponsor.default_leg if get_settings().binary_spillover == "outer" else None


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
    _attach_under(session, member=member, sponsor_id=top.user_id, side=side or weaker_leg(top))


def _slot(session: Session, start_id: int, side: str) -> tuple[int, str]:
    """Where a new member lands in this leg (parent, position): the end of the outer line, or
    the first free slot breadth-first (the leg's own side first)."""
    if get_settings().binary_spillover == "outer":
        # Placements are serialized (genealogy.lock_placements): the line's end stays free.
        return _outer_bottom(session, start_id, side), side
    first = _child(session, start_id, side)
    if first is None:
        return start_id, side
    other = "right" if side == "left" else "left"
    queue = deque([first])
    while queue:
        node = queue.popleft()
        for position in (side, other):
            if _child(session, node.user_id, position) is None:
                return node.user_id, position
        queue.extend(n for p in SIDES if (n := _child(session, node.user_id, p)) is not None)
    raise AssertionError("a finite tree always has a free slot")


def _outer_line() -> Any:
    """The last node of a start's outer line on one side (one recursive CTE)."""
    side = bindparam("side")
    first = (
        select(BinaryNode.user_id, literal(1).label("depth"))
        .where(BinaryNode.parent_id == bindparam("start"), BinaryNode.position == side)
        .cte("outer_line", recursive=True)
    )
    step = (
        select(BinaryNode.user_id, first.c.depth + 1)
        .join(first, BinaryNode.parent_id == first.c.user_id)
        .where(BinaryNode.position == side)
    )
    line = first.union_all(step)
    return select(line.c.user_id).order_by(line.c.depth.desc()).limit(1)


OUTER_BOTTOM = _outer_line()


def _outer_bottom_of(side: str, *, lock: bool) -> Any:
    """The start's node (locked on PostgreSQL) with the last node of its outer line."""
    line = _outer_line().params(side=side).scalar_subquery()
    stmt = select(func.coalesce(line, BinaryNode.user_id)).where(
        BinaryNode.user_id == bindparam("start")
    )
    return stmt.with_for_update(of=BinaryNode) if lock else stmt


OUTER_BOTTOM_OF = {side: _outer_bottom_of(side, lock=False) for side in SIDES}
OUTER_BOTTOM_LOCKED = {side: _outer_bottom_of(side, lock=True) for side in SIDES}


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _outer_bottom(session: Session, start_id: int, side: str) -> int:
    """The last node of the start's outer line on this side."""
    bottom = session.scalar(OUTER_BOTTOM, {"start": start_id, "side": side})
    return start_id if bottom is None else bottom


NEW_NODE = insert(BinaryNode)


def _attach_under(
    session: Session,
    *,
    member: Member,
    sponsor_id: int,
    side: str,
    bought: tuple[int, bool] | None = None,
    slot: int | None = None,
) -> None:
    """Insert the member's node in the sponsor's leg (at `slot` when the caller found it), then
    count it, its BV and (an active member) the sponsor's active direct up the tree."""
    parent_id, position = (slot, side) if slot is not None else _slot(session, sponsor_id, side)
    member.binary_state = "placed"
    session.flush()
    row = {"user_id": member.id, "parent_id": parent_id, "position": position, "sponsor_side": side}
    session.connection().execute(NEW_NODE, row)  # a Core insert: no unit of work to run
    volume, active = _bought(session, member.id) if bought is None else bought
    _propagate(
        session,
        start=(parent_id, position),
        count=1,
        volume=volume,
        active_direct=sponsor_id if active else 0,
    )
    _place_waiting_recruits(session, member=member)


def _place_waiting_recruits(session: Session, *, member: Member) -> None:
    if member.direct_count == 0:
        return
    waiting = session.scalars(
        select(Member)
        .where(Member.sponsor_id == member.id, Member.binary_state == "waiting")
        .order_by(Member.id)
    )
    for recruit in list(waiting):
        place(session, member=recruit, now=recruit.created_at)


def _bought(session: Session, member_id: int) -> tuple[int, bool]:
    """The BV the member bought so far, and whether any purchase was paid (an active member)."""
    volume, top_price = session.execute(
        select(func.coalesce(func.sum(Purchase.bv), 0), func.max(Purchase.price)).where(
            Purchase.user_id == member_id
        )
    ).one()
    return int(volume or 0), (top_price or 0) > 0


def _ancestors_cte() -> Any:
    """Every binary ancestor of a node hanging at (:from_parent, :from_position), with the
    side it hangs on and its distance."""
    start = select(
        bindparam("from_parent", type_=Integer).label("ancestor"),
        bindparam("from_position", type_=String).label("side"),
        literal(1).label("depth"),
    ).cte("binary_ancestors", recursive=True)
    step = (
        select(BinaryNode.parent_id, BinaryNode.position, start.c.depth + 1)
        .join(start, BinaryNode.user_id == start.c.ancestor)
        .where(BinaryNode.parent_id.is_not(None))
    )
    return start.union_all(step)


def _propagation() -> Any:
    """Add :count members and :volume BV to each ancestor's leg on the node's side, and one
    active direct to the leg of :active_direct (an ancestor, or 0 for none)."""
    tree = _ancestors_cte()
    values: dict[str, Any] = {}
    for side in SIDES:
        on_side = tree.c.side == side
        for column, amount in (
            (getattr(BinaryNode, f"{side}_count"), bindparam("count")),
            (getattr(BinaryNode, f"vol_new_{side}"), bindparam("volume")),
        ):
            values[column.key] = column + case((on_side, amount), else_=0)
        directs = getattr(BinaryNode, f"active_directs_{side}")
        sponsor = BinaryNode.user_id == bindparam("active_direct", type_=Integer)
        values[directs.key] = directs + case((on_side & sponsor, 1), else_=0)
    return (
        update(BinaryNode)
        .where(BinaryNode.user_id == tree.c.ancestor)
        .values(values)
        .execution_options(synchronize_session=False)
    )


PROPAGATE = _propagation()
PROPAGATED = (
    "left_count",
    "right_count",
    "vol_new_left",
    "vol_new_right",
    "active_directs_left",
    "active_directs_right",
)


def _propagate(
    session: Session,
    *,
    start: tuple[int, str],
    count: int,
    volume: int,
    active_direct: int = 0,
) -> None:
    """Add members, volume and an active direct up the tree from a node hanging at
    `start` (parent, position), in one UPDATE."""
    if not count and not volume and not active_direct:
        return
    parent_id, position = start
    session.connection().execute(
        PROPAGATE,
        {
            "from_parent": parent_id,
            "from_position": position,
            "count": count,
            "volume": volume,
            "active_direct": active_direct,
        },
    )
    expire_loaded(session)


def expire_loaded(session: Session) -> None:
    """After a Core update of leg aggregates: the loaded nodes read them again."""
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, BinaryNode):
            session.expire(loaded, list(PROPAGATED))


def add_volume(session: Session, *, member: Member, bv: int, newly_active: bool) -> None:
    """A purchase: BV up the binary tree, and an active direct for the sponsor's leg."""
    node = _node(session, member.id)
    if node is None:  # still in the tank or waiting: counted at placement
        return
    if bv and node.parent_id is not None and node.position is not None:
        _propagate(session, start=(node.parent_id, node.position), count=0, volume=bv)
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
