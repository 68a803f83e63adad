"""Matrix bonuses: paid when the earner qualifies, else held, released or forfeited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from understudy.backoffice import genealogy
from understudy.backoffice.earnings import current_plan, pay
from understudy.backoffice.models import MatrixCommission, Member, Plan
from understudy.backoffice.settings import get_settings
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
) -> None:
    """Matrix ancestors at levels 1..MATRIX_DEPTH with the matrix on earn their plan's rate."""
    if price <= 0:
        return
    levels = get_settings().matrix_depth
    for level, earner_id in enumerate(
        genealogy.matrix_ancestors(session, member_id=buyer.id, levels=levels), start=1
    ):
        plan = current_plan(session, user_id=earner_id)
        if plan is None or not plan.matrix_on or level > len(plan.matrix_bp):
            continue
        amount = price * plan.matrix_bp[level - 1] // BASIS
        if amount <= 0:
            continue
        earner = session.get(Member, earner_id, populate_existing=True)
        assert earner is not None
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
        if _qualified(earner, plan):
            row.resolved_at = now
            session.add(row)
            pay(session, user_id=earner_id, amount=amount, description=description, now=now)
            continue
        row.status = "held"
        row.hold_until = now + timedelta(days=plan.matrix_hold_days)
        session.add(row)
        session.flush()
        timers.schedule(session, kind=FORFEIT_TIMER, key=str(row.id), due_at=row.hold_until)


def release(session: Session, *, earner_id: int, now: datetime) -> None:
    """Pay every held bonus of an earner who now has enough active directs."""
    earner = session.get(Member, earner_id, populate_existing=True)
    plan = current_plan(session, user_id=earner_id)
    if earner is None or plan is None or not _qualified(earner, plan):
        return
    expire_due(session, earner_id=earner_id, now=now)
    held = session.scalars(
        select(MatrixCommission)
        .where(MatrixCommission.earner_id == earner_id, MatrixCommission.status == "held")
        .order_by(MatrixCommission.id)
    )
    for row in list(held):
        row.status, row.resolved_at = "paid", now
        timers.cancel(session, kind=FORFEIT_TIMER, key=str(row.id))
        pay(session, user_id=earner_id, amount=row.amount, description=row.description, now=now)


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
