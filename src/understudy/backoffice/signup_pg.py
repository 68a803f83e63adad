"""PostgreSQL: a sign-up's rows in one statement (data-modifying CTEs).

The member, its sponsor-closure rows, the sponsor's direct counts, the member's matrix slot,
its purchase and (by outer spillover) its binary node with the legs counted up the tree go in
together, and the statement answers who may earn on the purchase. SQLite runs the same steps
one statement each (genealogy.attach_sponsor, genealogy.place_matrix, genealogy.earners,
compensation.purchase, binary.place). Runs under the placement lock, taken by an earlier
statement: this one's snapshot must already see every placement committed before the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.orm import Session

from understudy.backoffice.genealogy import FREE_SLOT_WALK, Earners
from understudy.core.db import UTCDateTime

MEMBER_COLUMNS = (
    "username",
    "username_key",
    "email",
    "email_key",
    "first_name",
    "last_name",
    "mobile",
    "country_code",
    "password_hash",
    "language",
    "default_leg",
    "request_token_on_edit",
    "profile_image",
    "sponsor_id",
    "binary_state",
    "tank_until",
    "direct_count",
    "active_direct_count",
    "created_at",
)

MEMBER = f"""
    m AS (
        INSERT INTO backoffice_users ({", ".join(MEMBER_COLUMNS)})
        VALUES ({", ".join(":" + c for c in MEMBER_COLUMNS)})
        RETURNING id
    ), closure AS (
        INSERT INTO backoffice_sponsor_closure (ancestor_id, descendant_id, depth)
        SELECT m.id, m.id, 0 FROM m
        UNION ALL
        SELECT sc.ancestor_id, m.id, sc.depth + 1
        FROM backoffice_sponsor_closure sc CROSS JOIN m
        WHERE sc.descendant_id = :sponsor_id
    ), counted AS (
        UPDATE backoffice_users
        SET direct_count = direct_count + 1,
            active_direct_count = active_direct_count + :active
        WHERE id = :sponsor_id
        RETURNING direct_count, active_direct_count
    ), bought AS (
        INSERT INTO backoffice_purchases (user_id, plan_id, price, bv, created_at)
        SELECT m.id, :plan_id, :price, :bv, :created_at FROM m
    )"""
# The first free slot breadth-first under the sponsor (see genealogy.TAKE_FREE_SLOT).
MATRIX = (
    FREE_SLOT_WALK.replace(":sponsor", ":sponsor_id")
    + """, slot AS (
        INSERT INTO backoffice_matrix_nodes (user_id, parent_id, slot, open_level)
        SELECT m.id, w.node,
               (SELECT count(*) FROM backoffice_matrix_nodes k WHERE k.parent_id = w.node), 0
        FROM (SELECT walk.node FROM walk ORDER BY walk.depth DESC LIMIT 1) w CROSS JOIN m
        WHERE EXISTS (SELECT 1 FROM backoffice_matrix_nodes s WHERE s.user_id = :sponsor_id)
        RETURNING parent_id, slot
    )"""
)
# Outer spillover: the bottom of the sponsor's line on :side, and the new member, its BV
# and (when active) the sponsor's active direct counted on every ancestor's leg.
BINARY = """
    line(user_id, depth) AS (
        SELECT user_id, 1 FROM backoffice_binary_nodes
        WHERE parent_id = :sponsor_id AND position = :side
        UNION ALL
        SELECT n.user_id, line.depth + 1
        FROM backoffice_binary_nodes n JOIN line ON n.parent_id = line.user_id
        WHERE n.position = :side
    ), bottom(id) AS (
        SELECT COALESCE((SELECT user_id FROM line ORDER BY depth DESC LIMIT 1),
                        CAST(:sponsor_id AS INTEGER))
    ), node AS (
        INSERT INTO backoffice_binary_nodes (
            user_id, parent_id, position, sponsor_side, left_count, right_count, vol_new_left,
            vol_new_right, carry_left, carry_right, active_directs_left, active_directs_right,
            pairs_paid)
        SELECT m.id, bottom.id, :side, :side, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM bottom CROSS JOIN m
    ), up(ancestor, side) AS (
        SELECT bottom.id, CAST(:side AS VARCHAR) FROM bottom
        UNION ALL
        SELECT n.parent_id, n.position
        FROM backoffice_binary_nodes n JOIN up ON n.user_id = up.ancestor
        WHERE n.parent_id IS NOT NULL
    ), legs AS (
        UPDATE backoffice_binary_nodes AS b SET
            left_count = b.left_count + CASE WHEN up.side = 'left' THEN 1 ELSE 0 END,
            right_count = b.right_count + CASE WHEN up.side = 'right' THEN 1 ELSE 0 END,
            vol_new_left = b.vol_new_left + CASE WHEN up.side = 'left' THEN :bv ELSE 0 END,
            vol_new_right = b.vol_new_right + CASE WHEN up.side = 'right' THEN :bv ELSE 0 END,
            active_directs_left = b.active_directs_left
                + CASE WHEN up.side = 'left' AND b.user_id = :sponsor_id THEN :active ELSE 0 END,
            active_directs_right = b.active_directs_right
                + CASE WHEN up.side = 'right' AND b.user_id = :sponsor_id THEN :active ELSE 0 END
        FROM up WHERE b.user_id = up.ancestor
    )"""
# Sponsors up to :sponsor_levels and matrix parents up to :matrix_levels (see
# genealogy.EARNERS), read from the sponsor's closure and the new slot.
EARNERS = """
    mat(ancestor, level) AS (
        SELECT parent_id, 1 FROM slot
        UNION ALL
        SELECT n.parent_id, mat.level + 1
        FROM backoffice_matrix_nodes n JOIN mat ON n.user_id = mat.ancestor
        WHERE n.parent_id IS NOT NULL AND mat.level < :matrix_levels
    ), earner(kind, level, user_id) AS (
        SELECT 0, depth + 1, ancestor_id FROM backoffice_sponsor_closure
        WHERE descendant_id = :sponsor_id AND depth < :sponsor_levels
        UNION ALL
        SELECT 1, level, ancestor FROM mat
    )"""
ANSWER = """
    SELECT m.id, counted.direct_count, counted.active_direct_count, slot.parent_id, slot.slot,
           e.kind, e.user_id,
           CASE WHEN e.user_id = :sponsor_id THEN counted.active_direct_count
                ELSE u.active_direct_count END,
           (SELECT p.plan_id FROM backoffice_purchases p WHERE p.user_id = e.user_id
            ORDER BY p.id DESC LIMIT 1),
           EXISTS (SELECT 1 FROM backoffice_matrix_commissions h
                   WHERE h.earner_id = :sponsor_id AND h.status = 'held')
    FROM m CROSS JOIN counted LEFT JOIN slot ON TRUE
    LEFT JOIN earner e ON TRUE LEFT JOIN backoffice_users u ON u.id = e.user_id
    ORDER BY e.kind, e.level
    """


@lru_cache(maxsize=2)
def _statement(binary: bool) -> TextClause:
    parts = [MEMBER, MATRIX, *([BINARY] if binary else []), EARNERS]
    return text("WITH RECURSIVE" + ",".join(parts) + ANSWER).bindparams(
        bindparam("created_at", type_=UTCDateTime()), bindparam("tank_until", type_=UTCDateTime())
    )


@dataclass(frozen=True)
class SignedUp:
    """What the statement wrote and read."""

    member_id: int
    sponsor_directs: int
    sponsor_active_directs: int
    matrix_parent: int | None  # None: the sponsor is outside the matrix
    matrix_slot: int | None
    earners: Earners


def sign_up(
    session: Session,
    *,
    row: dict[str, Any],
    plan: tuple[int, int, int],
    side: str | None,
    levels: tuple[int, int, int],
) -> SignedUp:
    """Insert the member (`row`: every column but the id), place it (in the binary tree too
    when `side` names the sponsor's leg for outer spillover) and record its purchase (`plan`:
    id, price, bv; bought at the member's `created_at`). `levels`: matrix width, sponsor
    levels and matrix levels that may earn."""
    plan_id, price, bv = plan
    width, sponsor_levels, matrix_levels = levels
    params = row | {
        "active": int(price > 0),
        "width": width,
        "plan_id": plan_id,
        "price": price,
        "bv": bv,
        "side": side,
        "sponsor_levels": sponsor_levels,
        "matrix_levels": matrix_levels,
    }
    rows = session.connection().execute(_statement(side is not None), params).all()
    earners = Earners([], [], {}, {}, sponsor_holds=bool(rows[0][-1]))
    for *_, kind, user_id, active_directs, plan_of, _ in rows:
        if user_id is not None:
            (earners.parents if kind else earners.sponsors).append(user_id)
            earners.plan_id[user_id] = plan_of
            earners.active_directs[user_id] = active_directs
    first = rows[0]
    return SignedUp(first[0], first[1], first[2], first[3], first[4], earners)
