"""Operators edit plans: prices and every compensation rule (rates in bp, money in cents)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.backoffice.models import Plan
from understudy.core.money import InvalidAmount, to_minor

FIRST_PAIRS = ("1:1", "2:1", "1:2")
MONEY_FIELDS = ("price", "bv", "binary_cap", "max_carry", "pair_left", "pair_right", "pair_value")
RATE_FIELDS = ("direct", "binary")
RATE_LIST_FIELDS = ("unilevel", "matrix")
COUNT_FIELDS = ("matrix_directs_needed", "matrix_hold_days")


class PlanProblem(Exception):
    """A plan edit that cannot be applied (the message says why)."""


@dataclass(frozen=True)
class PlanChanges:
    """Plan fields as operators type them (decimal text); None leaves a field unchanged."""

    price: str | None = None
    bv: str | None = None
    image: str | None = None
    direct: str | None = None
    unilevel: str | None = None
    binary: str | None = None
    binary_cap: str | None = None
    max_carry: str | None = None
    matrix_on: bool | None = None
    matrix: str | None = None
    matrix_directs_needed: int | None = None
    matrix_hold_days: int | None = None
    pair_left: str | None = None
    pair_right: str | None = None
    pair_value: str | None = None
    first_pair: str | None = None


def _money(name: str, text: str, *, optional: bool) -> int | None:
    if optional and text.strip().lower() in ("", "none"):
        return None
    try:
        cents = to_minor(text.strip(), "USD")
    except InvalidAmount as exc:
        raise PlanProblem(f"{name}: {exc}") from None
    if cents < 0:
        raise PlanProblem(f"{name} must not be negative")
    return cents


def _rate(name: str, text: str) -> int:
    """A percentage such as 10 or 2.5 as basis points."""
    try:
        value = Decimal(text.strip()) * 100
    except InvalidOperation:
        raise PlanProblem(f"{name}: {text!r} is not a percentage") from None
    if not value.is_finite() or value != value.to_integral_value() or not 0 <= value <= 10_000:
        raise PlanProblem(f"{name}: a percentage from 0 to 100 with at most 2 decimals")
    return int(value)


def _rates(name: str, text: str) -> list[int]:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    return [_rate(name, p) for p in parts]


def apply(plan: Plan, changes: PlanChanges) -> None:
    """Validate and apply changes to a plan (raises PlanProblem)."""
    for name in MONEY_FIELDS:
        text = getattr(changes, name)
        if text is not None:
            setattr(plan, name, _money(name, text, optional=name in ("binary_cap", "max_carry")))
    if changes.image is not None:
        if not changes.image.strip() or "/" in changes.image:
            raise PlanProblem("image must be a file name")
        plan.image = changes.image.strip()
    if changes.direct is not None:
        plan.direct_bp = _rate("direct", changes.direct)
    if changes.binary is not None:
        plan.binary_bp = _rate("binary", changes.binary)
    if changes.unilevel is not None:
        plan.unilevel_bp = _rates("unilevel", changes.unilevel)
    if changes.matrix is not None:
        plan.matrix_bp = _rates("matrix", changes.matrix)
    if changes.matrix_on is not None:
        plan.matrix_on = changes.matrix_on
    for name in COUNT_FIELDS:
        value = getattr(changes, name)
        if value is not None:
            if value < 0:
                raise PlanProblem(f"{name} must not be negative")
            setattr(plan, name, value)
    if changes.first_pair is not None:
        if changes.first_pair not in FIRST_PAIRS:
            raise PlanProblem("first_pair must be one of " + ", ".join(FIRST_PAIRS))
        plan.first_pair = changes.first_pair


def list_plans(session: Session) -> list[Plan]:
    """Every plan by id."""
    return list(session.scalars(select(Plan).order_by(Plan.id)))


def create_plan(session: Session, *, name: str, changes: PlanChanges) -> Plan:
    """A new plan (all rules zero unless given); raises PlanProblem."""
    name = name.strip()
    if not name or "\x00" in name or len(name) > 100:
        raise PlanProblem("name must be 1 to 100 characters")
    if session.scalar(select(Plan.id).where(Plan.name == name)) is not None:
        raise PlanProblem(f"a plan named {name!r} exists")
    plan = Plan(
        name=name,
        price=0,
        bv=0,
        image="plan.png",
        currency="USD",
        direct_bp=0,
        unilevel_bp=[],
        binary_bp=0,
        matrix_on=False,
        matrix_bp=[],
        matrix_directs_needed=0,
        matrix_hold_days=0,
        pair_left=0,
        pair_right=0,
        pair_value=0,
        first_pair="1:1",
    )
    apply(plan, changes)
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, *, name: str, changes: PlanChanges) -> Plan:
    """Change an existing plan's rules; purchases already made keep what they paid."""
    plan = session.scalar(select(Plan).where(Plan.name == name.strip()))
    if plan is None:
        raise PlanProblem(f"no plan {name!r}")
    apply(plan, changes)
    session.flush()
    return plan


def describe(plan: Plan) -> str:
    """One tab-separated line about a plan for the console."""

    def money(cents: int | None) -> str:
        return "none" if cents is None else str(Decimal(cents) / 100)

    def pct(bp: int) -> str:
        return str(Decimal(bp) / 100)

    return "\t".join(
        [
            str(plan.id),
            plan.name,
            f"price {money(plan.price)}",
            f"bv {money(plan.bv)}",
            f"direct {pct(plan.direct_bp)}%",
            "unilevel " + ("/".join(pct(x) for x in plan.unilevel_bp) or "-"),
            f"binary {pct(plan.binary_bp)}% cap {money(plan.binary_cap)}",
            f"max_carry {money(plan.max_carry)}",
            "matrix "
            + (
                ("/".join(pct(x) for x in plan.matrix_bp) or "-")
                + f" needs {plan.matrix_directs_needed} hold {plan.matrix_hold_days}d"
                if plan.matrix_on
                else "off"
            ),
            f"pairs {money(plan.pair_left)}:{money(plan.pair_right)} pays "
            f"{money(plan.pair_value)} first {plan.first_pair}",
        ]
    )
