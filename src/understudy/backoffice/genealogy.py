"""The genealogy engine: sponsor tree (with its closure) and the forced matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, func, insert, literal, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

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
    .values(
        direct_count=Member.direct_count + 1,
        active_direct_count=Member.active_direct_count + bindparam("active", type_=Integer),
    )
    .returning(Member.direct_count, Member.active_direct_count)
)


def attach_sponsor(session: Session, *, member: Member, active: bool = False) -> int | None:
    """Add the member's closure rows (self, and every ancestor of its sponsor) and count it.

    `active`: the member is also an active direct of its sponsor (a paid sign-up), counted in
    the same statement. Returns the sponsor's active directs after it (None without sponsor).
    """
    if member.sponsor_id is None:
        session.add(SponsorClosure(ancestor_id=member.id, descendant_id=member.id, depth=0))
        session.flush()
        return None
    session.flush()
    connection = session.connection()
    connection.execute(CLOSURE_ROWS, {"member": member.id, "sponsor": member.sponsor_id})
    direct, active_directs = connection.execute(
        COUNT_DIRECT, {"sponsor": member.sponsor_id, "active": int(active)}
    ).one()
    refresh_loaded(
        session, member.sponsor_id, direct_count=direct, active_direct_count=active_directs
    )
    return int(active_directs)


def refresh_loaded(session: Session, member_id: int, **values: Any) -> None:
    """After a Core update: the member's new values, when the session has it loaded."""
    loaded = session.identity_map.get(identity_key(Member, member_id))
    if loaded is not None:
        for name, value in values.items():
            set_committed_value(loaded, name, value)


@dataclass(frozen=True)
class Earners:
    """Who may earn on a purchase: sponsors and matrix parents (nearest first), with each
    one's current plan id (None before a purchase) and active directs."""

    sponsors: list[int]
    parents: list[int]
    plan_id: dict[int, int | None]
    active_directs: dict[int, int]
    # The sponsor's held matrix bonuses exist: None when not read.
    sponsor_holds: bool | None = None


# Sponsors up to :sponsor_levels, matrix parents up to :matrix_levels, each with its active
# directs and its latest purchase's plan: one query.
EARNERS = text(
    """
    WITH RECURSIVE mat(ancestor, level) AS (
        SELECT parent_id, 1 FROM backoffice_matrix_nodes
        WHERE user_id = :member AND parent_id IS NOT NULL
        UNION ALL
        SELECT n.parent_id, mat.level + 1
        FROM backoffice_matrix_nodes n JOIN mat ON n.user_id = mat.ancestor
        WHERE n.parent_id IS NOT NULL AND mat.level < :matrix_levels
    ),
    earner(kind, level, user_id) AS (
        SELECT 0, depth, ancestor_id FROM backoffice_sponsor_closure
        WHERE descendant_id = :member AND depth > 0 AND depth <= :sponsor_levels
        UNION ALL
        SELECT 1, level, ancestor FROM mat
    )
    SELECT e.kind, e.user_id, u.active_direct_count,
           (SELECT p.plan_id FROM backoffice_purchases p WHERE p.user_id = e.user_id
            ORDER BY p.id DESC LIMIT 1)
    FROM earner e JOIN backoffice_users u ON u.id = e.user_id
    ORDER BY e.kind, e.level
    """
)


def earners(
    session: Session, *, member_id: int, sponsor_levels: int, matrix_levels: int
) -> Earners:
    """The member's sponsors and matrix parents who may earn, with their plans and directs."""
    found = Earners([], [], {}, {})
    rows = session.connection().execute(
        EARNERS,
        {"member": member_id, "sponsor_levels": sponsor_levels, "matrix_levels": matrix_levels},
    )
    for kind, user_id, active_directs, plan_id in rows:
        (found.parents if kind else found.sponsors).append(user_id)
        found.plan_id[user_id] = plan_id
        found.active_directs[user_id] = active_directs
    return found


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


def _children(session: Session, parent_id: int) -> list[MatrixNode]:
    return list(session.scalars(MATRIX_CHILDREN, {"parent": parent_id}, execution_options=FRESH))


PLACEMENT_LOCK = "backoffice.placement_lock"
MATRIX_ROOT_LOCKED = (
    select(MatrixNode.user_id).where(MatrixNode.parent_id.is_(None)).with_for_update()
)


# The same lock as a column of another query (a count of the roots locked).
PLACEMENT_LOCK_COLUMN = (
    select(func.count()).select_from(MATRIX_ROOT_LOCKED.subquery()).scalar_subquery()
)


def placements_locked(session: Session) -> None:
    """Record that this transaction took the placement lock (with PLACEMENT_LOCK_COLUMN)."""
    session.info[PLACEMENT_LOCK] = session.get_nested_transaction() or session.get_transaction()


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


NEW_MATRIX_NODE = insert(MatrixNode)
# The member's slot: from the sponsor, while a node is full, go to its leftmost child among
# those nearest to a free slot (least open_level); inserted by the same statement, which
# returns the parent and slot (no row when the sponsor is outside the matrix).
# The walk from :sponsor down to the node with a free slot (the deepest row); also a CTE of
# signup_pg's one-statement sign-up.
FREE_SLOT_WALK = """
    walk(node, depth) AS (
        SELECT CAST(:sponsor AS INTEGER), 0
        UNION ALL
        SELECT (SELECT c.user_id FROM backoffice_matrix_nodes c WHERE c.parent_id = walk.node
                ORDER BY c.open_level, c.slot LIMIT 1), walk.depth + 1
        FROM walk
        WHERE (SELECT count(*) FROM backoffice_matrix_nodes k WHERE k.parent_id = walk.node)
              >= :width
    )"""
TAKE_FREE_SLOT = text(
    f"""
    WITH RECURSIVE {FREE_SLOT_WALK}
    INSERT INTO backoffice_matrix_nodes (user_id, parent_id, slot, open_level)
    SELECT :member, walk.node,
           (SELECT count(*) FROM backoffice_matrix_nodes k WHERE k.parent_id = walk.node), 0
    FROM walk
    WHERE EXISTS (SELECT 1 FROM backoffice_matrix_nodes s WHERE s.user_id = :sponsor)
    ORDER BY walk.depth DESC LIMIT 1
    RETURNING parent_id, slot
    """
)
# `open_level` from a node that just filled up, upward while a value changes: each step
# recomputes a parent from its children, the one on the path taking its new value.
RECOMPUTE_UPWARD = text(
    """
    WITH RECURSIVE up(node, parent, old, new) AS (
        SELECT n.user_id, n.parent_id, n.open_level,
               CASE WHEN (SELECT count(*) FROM backoffice_matrix_nodes k
                          WHERE k.parent_id = n.user_id) < :width THEN 0
                    ELSE 1 + (SELECT min(k.open_level) FROM backoffice_matrix_nodes k
                              WHERE k.parent_id = n.user_id) END
        FROM backoffice_matrix_nodes n WHERE n.user_id = :start
        UNION ALL
        SELECT q.user_id, q.parent_id, q.open_level,
               CASE WHEN (SELECT count(*) FROM backoffice_matrix_nodes k
                          WHERE k.parent_id = q.user_id) < :width THEN 0
                    ELSE 1 + (SELECT min(CASE WHEN k.user_id = up.node THEN up.new
                                              ELSE k.open_level END)
                              FROM backoffice_matrix_nodes k WHERE k.parent_id = q.user_id) END
        FROM up JOIN backoffice_matrix_nodes q ON q.user_id = up.parent
        WHERE up.new <> up.old
    )
    UPDATE backoffice_matrix_nodes SET open_level = up.new
    FROM up WHERE backoffice_matrix_nodes.user_id = up.node AND up.new <> up.old
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
    connection = session.connection()
    found = (
        None
        if sponsor_id is None
        else connection.execute(
            TAKE_FREE_SLOT, {"sponsor": sponsor_id, "width": width, "member": member_id}
        ).first()
    )
    if found is None:  # no sponsor, or one outside the matrix: a new root
        row = {"user_id": member_id, "parent_id": None, "slot": None, "open_level": 0}
        connection.execute(NEW_MATRIX_NODE, row)
        return
    parent_id, taken = found
    if taken + 1 >= width:  # the parent just filled up: distances above may change
        recompute_open_levels(session, start=parent_id, width=width)


def recompute_open_levels(session: Session, *, start: int, width: int) -> None:
    """A node just filled up: recompute `open_level` from it upward while values change."""
    session.connection().execute(RECOMPUTE_UPWARD, {"start": start, "width": width})
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, MatrixNode):
            session.expire(loaded, ["open_level"])


def matrix_children(session: Session, *, user_id: int) -> list[MatrixNode]:
    """A matrix node's children by slot."""
    return _children(session, user_id)
