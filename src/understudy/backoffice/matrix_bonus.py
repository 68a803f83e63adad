"""Matrix bonuses: paid when the earner qualifies, else held, released or forfeited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from understudy.backoffice import genealogy
from understudy.backoffice.earnings import current_plan, pay, plans_of
from understudy.backoffice.models import MatrixCommission, Member, Plan
from understudy.backoffice.settings import get_settings
from understudy.backoffice.wallets import Move
from understudy.core import timers

FORFEIT_TIMER = "backoffice.matrix_forfeit"
BASIS = 10_000


def _qualified(member: Member, plan: Plan) -> bool:
    return member.active_direct_count >= plan.matrix_directs_needed


def award(
    session: Session,
    *,
    buyer: Member,
    price: int,
    now: datetime,
    into: list[Move] | None = None,
    known: tuple[list[int], dict[int, Plan]] | None = None,
) -> None:
    """Matrix ancestors at levels 1..MATRIX_DEPTH with the matrix on earn their plan's rate.

    `known`: the matrix ancestors (nearest first) and their plans, when the caller has them.
    """
    if price <= 0:
        return
    if known is None:
        levels = get_settings().matrix_depth
        ancestors = genealogy.matrix_ancestors(session, member_id=buyer.id, levels=levels)
        plans = plans_of(session, ancestors)
    else:
        ancestors, plans = known
    owed: list[tuple[int, int, int]] = []
    for level, earner_id in enumerate(ancestors, start=1):
        plan = plans.get(earner_id)
        if plan is None or not plan.matrix_on or level > len(plan.matrix_bp):
            continue
        amount = price * plan.matrix_bp[level - 1] // BASIS
        if amount > 0:
            owed.append((level, earner_id, amount))
    if not owed:
        return
    earners = {
        m.id: m
        for m in session.scalars(
            select(Member)
            .where(Member.id.in_([earner for _, earner, _ in owed]))
            .execution_options(populate_existing=True)
        )
    }
    for level, earner_id, amount in owed:
        plan = plans[earner_id]
        description = f"Matrix Bonus Level {level} - {buyer.username}"
        row = MatrixCommission(
            earner_id=earner_id,
            buyer_id=buyer.id,
            level=level,
            amount=amount,
            description=description,
            status="paid",
            created_at=now,
        )
        if _qualified(earners[earner_id], plan):
            row.resolved_at = now
            session.add(row)
            pay(
                session,
                user_id=earner_id,
                amount=amount,
                description=description,
                now=now,
                into=into,
            )
            continue
        row.status = "held"
        row.hold_until = now + timedelta(days=plan.matrix_hold_days)
        session.add(row)
        session.flush()
        timers.schedule(session, kind=FORFEIT_TIMER, key=str(row.id), due_at=row.hold_until)


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
