"""The genealogy engine: sponsor tree (with its closure) and the forced matrix."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, func, insert, literal, select, text, update
from sqlalchemy.orm import Session

from understudy.backoffice.models import MatrixNode, Member, SponsorClosure

# Hot statements are built once, with bound parameters (building costs more than running).
_member = bindparam("member", type_=Integer)
CLOSURE_ROWS = insert(SponsorClosure).from_select(
    ["ancestor_id", "descendant_id", "depth"],
    select(_member, _member, literal(0)).union_all(
        select(SponsorClosure.ancestor_id, _member, SponsorClosure.depth + 1).where(
            SponsorClosure.descendant_id == bindparam("sponsor")
        )
    ),
)
COUNT_DIRECT = (
    update(Member)
    .where(Member.id == bindparam("sponsor"))
    .values(direct_count=Member.direct_count + 1)
)
UPLINE = (
    select(SponsorClosure.ancestor_id)
    .where(
        SponsorClosure.descendant_id == bindparam("member"),
        SponsorClosure.depth > 0,
        SponsorClosure.depth <= bindparam("levels"),
    )
    .order_by(SponsorClosure.depth)
)


def attach_sponsor(session: Session, *, member: Member) -> None:
    """Add the member's closure rows (self, and every ancestor of its sponsor) and count it."""
    if member.sponsor_id is None:
        session.add(SponsorClosure(ancestor_id=member.id, descendant_id=member.id, depth=0))
        session.flush()
        return
    session.flush()
    session.connection().execute(CLOSURE_ROWS, {"member": member.id, "sponsor": member.sponsor_id})
    session.execute(COUNT_DIRECT, {"sponsor": member.sponsor_id})


def upline(session: Session, *, member_id: int, levels: int) -> list[int]:
    """The member's sponsors, nearest first, at most `levels` of them."""
    return list(session.scalars(UPLINE, {"member": member_id, "levels": levels}))


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


FRESH = {"populate_existing": True}
MATRIX_CHILDREN = (
    select(MatrixNode).where(MatrixNode.parent_id == bindparam("parent")).order_by(MatrixNode.slot)
)
MATRIX_NODE = select(MatrixNode).where(MatrixNode.user_id == bindparam("user"))


def _children(session: Session, parent_id: int) -> list[MatrixNode]:
    return list(session.scalars(MATRIX_CHILDREN, {"parent": parent_id}, execution_options=FRESH))


PLACEMENT_LOCK = "backoffice.placement_lock"
MATRIX_ROOT_LOCKED = (
    select(MatrixNode.user_id).where(MatrixNode.parent_id.is_(None)).with_for_update()
)


def lock_placements(session: Session) -> None:
    """Take the placement lock: the matrix root's row (PostgreSQL; SQLite has a single writer).

    Every placement reads and rewrites `open_level` along a path that ends at the root, so
    placements are serialized on it; taken before the member row is inserted, it also makes
    member ids follow placement order.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    current = session.get_nested_transaction() or session.get_transaction()
    if session.info.get(PLACEMENT_LOCK) is current:
        return  # already taken in this transaction
    session.execute(MATRIX_ROOT_LOCKED)
    session.info[PLACEMENT_LOCK] = current


def _node(session: Session, user_id: int) -> MatrixNode | None:
    return session.scalar(MATRIX_NODE, {"user": user_id}, execution_options=FRESH)


NEW_MATRIX_NODE = insert(MatrixNode)
# The member's slot: from the sponsor, while a node is full, go to its leftmost child among
# those nearest to a free slot (least open_level); one recursive query on both databases.
FREE_SLOT = text(
    """
    WITH RECURSIVE walk(node, depth) AS (
        SELECT CAST(:sponsor AS INTEGER), 0
        UNION ALL
        SELECT (SELECT c.user_id FROM backoffice_matrix_nodes c WHERE c.parent_id = walk.node
                ORDER BY c.open_level, c.slot LIMIT 1), walk.depth + 1
        FROM walk
        WHERE (SELECT count(*) FROM backoffice_matrix_nodes k WHERE k.parent_id = walk.node)
              >= :width
    )
    SELECT walk.node,
           (SELECT count(*) FROM backoffice_matrix_nodes k WHERE k.parent_id = walk.node),
           (SELECT count(*) FROM backoffice_matrix_nodes s WHERE s.user_id = :sponsor)
    FROM walk ORDER BY walk.depth DESC LIMIT 1
    """
)


def place_matrix(session: Session, *, member_id: int, sponsor_id: int | None, width: int) -> None:
    """Give the member the first free slot under its sponsor, breadth-first, left to right.

    Descends along `open_level` (distance to the nearest free slot) into the leftmost child
    nearest to a free slot, then recomputes `open_level` upward until a value stops changing.
    Runs under the placement lock, so every `open_level` it reads is current.
    """
    lock_placements(session)
    session.flush()
    found = (
        None
        if sponsor_id is None
        else session.execute(FREE_SLOT, {"sponsor": sponsor_id, "width": width}).one()
    )
    if found is None or not found[2]:  # no sponsor, or one outside the matrix: a new root
        session.add(MatrixNode(user_id=member_id, parent_id=None, slot=None, open_level=0))
        session.flush()
        return
    parent_id, taken, _ = found
    row = {"user_id": member_id, "parent_id": parent_id, "slot": taken, "open_level": 0}
    session.connection().execute(NEW_MATRIX_NODE, row)  # a Core insert: no unit of work
    if taken + 1 >= width:  # the parent just filled up: distances above may change
        _recompute_upward(session, _node(session, parent_id), width)


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
    return list(session.scalars(MATRIX_ANCESTORS, {"member": member_id, "levels": levels}))


def _matrix_ancestors() -> Any:
    start = (
        select(MatrixNode.parent_id.label("ancestor"), literal(1).label("level"))
        .where(MatrixNode.user_id == bindparam("member"), MatrixNode.parent_id.is_not(None))
        .cte("matrix_ancestors", recursive=True)
    )
    step = (
        select(MatrixNode.parent_id, start.c.level + 1)
        .join(start, MatrixNode.user_id == start.c.ancestor)
        .where(MatrixNode.parent_id.is_not(None), start.c.level < bindparam("levels"))
    )
    line = start.union_all(step)
    return select(line.c.ancestor).order_by(line.c.level)


MATRIX_ANCESTORS = _matrix_ancestors()
