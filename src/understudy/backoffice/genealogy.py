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
    """Sponsor-tree descendants down to `depth` levels, with their level, by id.

    Two indexed reads (closure rows, then those members) rather than one join: for the root
    every member is a descendant, and planners misjudge how few are within `depth`.
    """
    levels = dict(
        session.execute(
            select(SponsorClosure.descendant_id, SponsorClosure.depth).where(
                SponsorClosure.ancestor_id == member_id,
                SponsorClosure.depth > 0,
                SponsorClosure.depth <= depth,
            )
        ).all()
    )
    if not levels:
        return []
    members = session.scalars(select(Member).where(Member.id.in_(list(levels))).order_by(Member.id))
    return [(member, levels[member.id]) for member in members]


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


def lock_placements(session: Session) -> None:
    """Take the placement lock: the matrix root's row (PostgreSQL; SQLite has a single writer).

    Every placement reads and rewrites `open_level` along a path that ends at the root, so
    placements are serialized on it; taken before the member row is inserted, it also makes
    member ids follow placement order.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(MatrixNode.user_id).where(MatrixNode.parent_id.is_(None)).with_for_update()
        )


def _node(session: Session, user_id: int) -> MatrixNode | None:
    stmt = select(MatrixNode).where(MatrixNode.user_id == user_id)
    return session.scalar(stmt.execution_options(populate_existing=True))


def place_matrix(session: Session, *, member_id: int, sponsor_id: int | None, width: int) -> None:
    """Give the member the first free slot under its sponsor, breadth-first, left to right.

    Descends along `open_level` (distance to the nearest free slot) into the leftmost child
    nearest to a free slot, then recomputes `open_level` upward until a value stops changing.
    Runs under the placement lock, so every `open_level` it reads is current.
    """
    lock_placements(session)
    node = _node(session, sponsor_id) if sponsor_id is not None else None
    if node is None:
        session.add(MatrixNode(user_id=member_id, parent_id=None, slot=None, open_level=0))
        session.flush()
        return
    while True:
        kids = _children(session, node.user_id)
        if len(kids) < width:
            break
        nearest = min(k.open_level for k in kids)
        node = next(k for k in kids if k.open_level == nearest)
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
        node = None if node.parent_id is None else _node(session, node.parent_id)


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
