"""The genealogy engine: sponsor tree (with its closure) and the forced matrix."""

from __future__ import annotations

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session

from understudy.backoffice.models import MatrixNode, Member, SponsorClosure


def attach_sponsor(session: Session, *, member: Member) -> None:
    """Add the member's closure rows (self, and every ancestor of its sponsor) and count it."""
    session.add(SponsorClosure(ancestor_id=member.id, descendant_id=member.id, depth=0))
    if member.sponsor_id is None:
        session.flush()
        return
    ancestors = select(
        SponsorClosure.ancestor_id, literal(member.id), SponsorClosure.depth + 1
    ).where(SponsorClosure.descendant_id == member.sponsor_id)
    session.flush()
    session.execute(
        insert(SponsorClosure).from_select(["ancestor_id", "descendant_id", "depth"], ancestors)
    )
    session.execute(
        update(Member)
        .where(Member.id == member.sponsor_id)
        .values(direct_count=Member.direct_count + 1)
    )


def upline(session: Session, *, member_id: int, levels: int) -> list[int]:
    """The member's sponsors, nearest first, at most `levels` of them."""
    rows = session.execute(
        select(SponsorClosure.ancestor_id)
        .where(
            SponsorClosure.descendant_id == member_id,
            SponsorClosure.depth > 0,
            SponsorClosure.depth <= levels,
        )
        .order_by(SponsorClosure.depth)
    )
    return [row[0] for row in rows]


def downline(session: Session, *, member_id: int, depth: int) -> list[tuple[Member, int]]:
    """Sponsor-tree descendants down to `depth` levels, with their level, by id."""
    rows = session.execute(
        select(Member, SponsorClosure.depth)
        .join(SponsorClosure, SponsorClosure.descendant_id == Member.id)
        .where(
            SponsorClosure.ancestor_id == member_id,
            SponsorClosure.depth > 0,
            SponsorClosure.depth <= depth,
        )
        .order_by(Member.id)
    )
    return [(member, level) for member, level in rows]


def downline_count(session: Session, *, member_id: int) -> int:
    """How many members the whole sponsor downline holds (self excluded)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(SponsorClosure)
            .where(SponsorClosure.ancestor_id == member_id, SponsorClosure.depth > 0)
        )
        or 0
    )


# --- forced matrix -------------------------------------------------------------------------------


def _children(session: Session, parent_id: int) -> list[MatrixNode]:
    return list(
        session.scalars(
            select(MatrixNode)
            .where(MatrixNode.parent_id == parent_id)
            .order_by(MatrixNode.slot)
            .execution_options(populate_existing=True)
        )
    )


def _lock(session: Session, user_id: int) -> MatrixNode | None:
    stmt = select(MatrixNode).where(MatrixNode.user_id == user_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def place_matrix(session: Session, *, member_id: int, sponsor_id: int | None, width: int) -> None:
    """Give the member the first free slot under its sponsor, breadth-first, left to right.

    Descends along `open_level` (distance to the nearest free slot), locking each node before
    reading its children, so a concurrent placement that filled a node is seen and stepped past.
    """
    node = _lock(session, sponsor_id) if sponsor_id is not None else None
    if node is None:
        session.add(MatrixNode(user_id=member_id, parent_id=None, slot=None, open_level=0))
        session.flush()
        return
    while True:
        kids = _children(session, node.user_id)
        if len(kids) < width:
            break
        nearest = min(k.open_level for k in kids)
        chosen = next(k for k in kids if k.open_level == nearest)
        node = _lock(session, chosen.user_id) or chosen
    session.add(MatrixNode(user_id=member_id, parent_id=node.user_id, slot=len(kids), open_level=0))
    session.flush()
    _recompute_upward(session, node, width)


def _recompute_upward(session: Session, node: MatrixNode | None, width: int) -> None:
    while node is not None:
        kids = _children(session, node.user_id)
        level = 0 if len(kids) < width else 1 + min(k.open_level for k in kids)
        if level == node.open_level:
            return
        node.open_level = level
        session.flush()
        node = None if node.parent_id is None else session.get(MatrixNode, node.parent_id)


def matrix_children(session: Session, *, user_id: int) -> list[MatrixNode]:
    """A matrix node's children by slot."""
    return _children(session, user_id)


def matrix_ancestors(session: Session, *, member_id: int, levels: int) -> list[int]:
    """The member's matrix parents, nearest first, at most `levels` of them."""
    found: list[int] = []
    node = session.get(MatrixNode, member_id)
    while node is not None and node.parent_id is not None and len(found) < levels:
        found.append(node.parent_id)
        node = session.get(MatrixNode, node.parent_id)
    return found
