"""The binary run: at each period boundary, pay the matched volume of the lesser leg."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from understudy.backoffice.earnings import current_plan, pay
from understudy.backoffice.models import BinaryNode
from understudy.backoffice.settings import get_settings
from understudy.core import timers
from understudy.core.money import to_minor

RUN_TIMER = "backoffice.binary_run"
BASIS = 10_000


def next_boundary(now: datetime) -> datetime:
    """The next period start after `now`: midnight (daily) or Monday midnight (weekly)."""
    settings = get_settings()
    local = now.astimezone(settings.zone)
    day = local.date() + timedelta(days=1)
    if settings.binary_period == "weekly":
        day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime.combine(day, time(), tzinfo=settings.zone).astimezone(UTC)


def schedule_next(session: Session, *, now: datetime) -> None:
    """Make sure the run at the next boundary is scheduled (one timer per period)."""
    due = next_boundary(now)
    key = due.isoformat()
    if timers.pending(session, kind=RUN_TIMER, key=key) is None:
        timers.schedule(session, kind=RUN_TIMER, key=key, due_at=due)


def run(session: Session, *, now: datetime) -> None:
    """Pair every member's legs once for the period that just ended."""
    settings = get_settings()
    default_max_carry = None if settings.max_carry is None else to_minor(settings.max_carry, "USD")
    nodes = session.scalars(
        select(BinaryNode)
        .where(
            or_(
                BinaryNode.vol_new_left > 0,
                BinaryNode.vol_new_right > 0,
                BinaryNode.carry_left > 0,
                BinaryNode.carry_right > 0,
            )
        )
        .order_by(BinaryNode.user_id)
    )
    for node in list(nodes):
        left = node.carry_left + node.vol_new_left
        right = node.carry_right + node.vol_new_right
        plan = current_plan(session, user_id=node.user_id)
        qualified = (
            plan is not None
            and plan.binary_bp > 0
            and node.active_directs_left >= 1
            and node.active_directs_right >= 1
        )
        if qualified:
            assert plan is not None
            matched = min(left, right)
            amount = matched * plan.binary_bp // BASIS
            if plan.binary_cap is not None:
                amount = min(amount, plan.binary_cap)
            pay(session, user_id=node.user_id, amount=amount, description="Binary Bonus", now=now)
            left, right = left - matched, right - matched
            cap = plan.max_carry if plan.max_carry is not None else default_max_carry
            if cap is not None:
                left, right = min(left, cap), min(right, cap)
        node.carry_left, node.carry_right = left, right
        node.vol_new_left = node.vol_new_right = 0
    session.flush()


@timers.handler(RUN_TIMER)
def _run_period(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """A period ended: pair the legs, then schedule the next run."""
    run(session, now=now)
    schedule_next(session, now=datetime.fromisoformat(key))
