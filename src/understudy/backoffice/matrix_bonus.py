"""Matrix bonuses: paid when the earner qualifies, else held, released or forfeited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from understudy.backoffice.earnings import current_plan, pay
from understudy.backoffice.models import MatrixCommission, Member, Plan
from understudy.backoffice.wallets import Move
from understudy.core import timers

FORFEIT_TIMER = "backoffice.matrix_forfeit"
BASIS = 10_000


NEW_COMMISSIONS = insert(MatrixCommission).returning(
    MatrixCommission.id, sort_by_parameter_order=True
)


def award(
    session: Session,
    *,
    buyer: Member,
    price: int,
    now: datetime,
    into: list[Move] | None = None,
    known: tuple[list[int], dict[int, Plan], dict[int, int]],
    deferred: list[dict[str, Any]] | None = None,
) -> None:
    """Matrix ancestors at levels 1..MATRIX_DEPTH with the matrix on earn their plan's rate.

    `known`: the matrix ancestors (nearest first), their plans and active directs
    (genealogy.earners). The commission rows go in with one insert, their timers with one;
    with `deferred`, the rows are queued there instead, for the caller to write (`recording`).
    """
    if price <= 0:
        return
    ancestors, plans, actives = known
    rows: list[dict[str, Any]] = []
    for level, earner_id in enumerate(ancestors, start=1):
        plan = plans.get(earner_id)
        if plan is None or not plan.matrix_on or level > len(plan.matrix_bp):
            continue
        amount = price * plan.matrix_bp[level - 1] // BASIS
        if amount <= 0:
            continue
        description = f"Matrix Bonus Level {level} - {buyer.username}"
        row = {
            "earner_id": earner_id,
            "buyer_id": buyer.id,
            "level": level,
            "amount": amount,
            "description": description,
            "status": "paid",
            "created_at": now,
            "resolved_at": now,
            "hold_until": None,
        }
        if actives[earner_id] >= plan.matrix_directs_needed:
            pay(
                session,
                user_id=earner_id,
                amount=amount,
                description=description,
                now=now,
                into=into,
            )
        else:
            hold_until = now + timedelta(days=plan.matrix_hold_days)
            row.update(status="held", resolved_at=None, hold_until=hold_until)
        rows.append(row)
    if not rows:
        return
    if deferred is not None:
        deferred.extend(rows)
        return
    session.flush()
    ids = session.connection().execute(NEW_COMMISSIONS, rows).scalars().all()
    timers.schedule_all(
        session,
        [
            (FORFEIT_TIMER, str(row_id), row["hold_until"], None)
            for row_id, row in zip(ids, rows, strict=True)
            if row["status"] == "held"
        ],
    )


COMMISSION_COLUMNS = (
    "earner_id",
    "buyer_id",
    "level",
    "amount",
    "description",
    "status",
    "hold_until",
    "created_at",
    "resolved_at",
)


def recording(rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """PostgreSQL: CTEs writing these commission rows (from `award(deferred=...)`) and the
    forfeit timers of the held ones, with their parameters, to run within another statement."""
    values = ", ".join(
        "(" + ", ".join(f":mc_{column}_{i}" for column in COMMISSION_COLUMNS) + ")"
        for i in range(len(rows))
    )
    params: dict[str, Any] = {"mc_kind": FORFEIT_TIMER}
    for i, row in enumerate(rows):
        params |= {f"mc_{column}_{i}": row[column] for column in COMMISSION_COLUMNS}
    sql = f"""
    commissions AS (
        INSERT INTO backoffice_matrix_commissions ({", ".join(COMMISSION_COLUMNS)})
        VALUES {values}
        RETURNING id, status, hold_until
    ), forfeits AS (
        INSERT INTO timers (kind, key, due_at, payload, attempts, last_error)
        SELECT :mc_kind, CAST(c.id AS VARCHAR), c.hold_until, CAST('{{}}' AS JSON), 0, NULL
        FROM commissions c WHERE c.status = 'held'
        ON CONFLICT (kind, key) DO UPDATE SET due_at = excluded.due_at,
            payload = excluded.payload, attempts = 0, last_error = NULL
    )"""
    return sql, params


def release(
    session: Session,
    *,
    earner_id: int,
    now: datetime,
    into: list[Move] | None = None,
    known: tuple[Plan | None, int] | None = None,
) -> None:
    """Pay every held bonus of an earner who now has enough active directs (queued in `into`).

    `known`: the earner's current plan and active directs, when the caller has them.
    """
    if known is None:
        earner = session.get(Member, earner_id, populate_existing=True)
        if earner is None:
            return
        plan, active_directs = current_plan(session, user_id=earner_id), earner.active_direct_count
    else:
        plan, active_directs = known
    if plan is None or active_directs < plan.matrix_directs_needed:
        return
    held = list(
        session.scalars(
            select(MatrixCommission)
            .where(MatrixCommission.earner_id == earner_id, MatrixCommission.status == "held")
            .order_by(MatrixCommission.id)
        )
    )
    for row in held:  # forfeits that fell due come first (they turn the row "forfeited")
        if row.hold_until is not None and row.hold_until <= now:
            timers.run_if_due(session, kind=FORFEIT_TIMER, key=str(row.id), now=now)
    for row in held:
        if row.status != "held":
            continue
        row.status, row.resolved_at = "paid", now
        timers.cancel(session, kind=FORFEIT_TIMER, key=str(row.id))
        pay(
            session,
            user_id=earner_id,
            amount=row.amount,
            description=row.description,
            now=now,
            into=into,
        )


def expire_due(session: Session, *, earner_id: int, now: datetime) -> None:
    """Apply the forfeits that fell due for this earner (lazily, before reading or paying)."""
    due = session.scalars(
        select(MatrixCommission.id).where(
            MatrixCommission.earner_id == earner_id,
            MatrixCommission.status == "held",
            MatrixCommission.hold_until <= now,
        )
    )
    for commission_id in list(due):
        timers.run_if_due(session, kind=FORFEIT_TIMER, key=str(commission_id), now=now)


def totals(session: Session, *, earner_id: int) -> tuple[int, int]:
    """(forfeited, held) sums in cents."""
    rows = dict(
        session.execute(
            select(MatrixCommission.status, func.sum(MatrixCommission.amount))
            .where(MatrixCommission.earner_id == earner_id)
            .group_by(MatrixCommission.status)
        ).all()
    )
    return int(rows.get("forfeited") or 0), int(rows.get("held") or 0)


@timers.handler(FORFEIT_TIMER)
def _forfeit(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """A held bonus whose hold expired is lost."""
    row = session.get(MatrixCommission, int(key))
    if row is not None and row.status == "held":
        row.status, row.resolved_at = "forfeited", now
