"""The binary run: at each period boundary, pay the matched volume of the lesser leg."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from understudy.backoffice.earnings import current_plan, pay
from understudy.backoffice.models import BinaryNode, Plan
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
        pairs_mode = settings.binary_mode == "pairs"
        qualified = (
            plan is not None
            and node.active_directs_left >= 1
            and node.active_directs_right >= 1
            and (plan.pair_value > 0 if pairs_mode else plan.binary_bp > 0)
        )
        if qualified:
            assert plan is not None
            if pairs_mode:
                amount, used_left, used_right, pairs = match_pairs(
                    plan, left, right, first=node.pairs_paid == 0
                )
                node.pairs_paid += pairs
            else:
                used_left = used_right = min(left, right)
                amount = used_left * plan.binary_bp // BASIS
            if plan.binary_cap is not None:
                amount = min(amount, plan.binary_cap)
            pay(session, user_id=node.user_id, amount=amount, description="Binary Bonus", now=now)
            left, right = left - used_left, right - used_right
            cap = plan.max_carry if plan.max_carry is not None else default_max_carry
            if cap is not None:
                left, right = min(left, cap), min(right, cap)
        node.carry_left, node.carry_right = left, right
        node.vol_new_left = node.vol_new_right = 0
    session.flush()


def match_pairs(plan: Plan, left: int, right: int, *, first: bool) -> tuple[int, int, int, int]:
    """BINARY_MODE=pairs: (amount, left volume used, right volume used, pairs).

    A pair is `pair_left` BV against `pair_right` BV; the member's very first pair needs
    twice the volume on one side when the plan's `first_pair` is "2:1" or "1:2".
    """
    if plan.pair_left <= 0 or plan.pair_right <= 0:
        return 0, 0, 0, 0
    used_left = used_right = pairs = 0
    if first and plan.first_pair in ("2:1", "1:2"):
        need_left = plan.pair_left * (2 if plan.first_pair == "2:1" else 1)
        need_right = plan.pair_right * (2 if plan.first_pair == "1:2" else 1)
        if left < need_left or right < need_right:
            return 0, 0, 0, 0
        used_left, used_right, pairs = need_left, need_right, 1
    more = min((left - used_left) // plan.pair_left, (right - used_right) // plan.pair_right)
    pairs += more
    used_left += more * plan.pair_left
    used_right += more * plan.pair_right
    return pairs * plan.pair_value, used_left, used_right, pairs


@timers.handler(RUN_TIMER)
def _run_period(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """A period ended: pair the legs, then schedule the next run."""
    run(session, now=now)
    schedule_next(session, now=datetime.fromisoformat(key))
