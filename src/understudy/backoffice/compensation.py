"""The compensation engine: plan purchases and the bonuses they pay."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from understudy.backoffice import binary, genealogy, matrix_bonus, wallets
from understudy.backoffice.earnings import current_plan, has_paid_plan, pay
from understudy.backoffice.models import Member, Plan, Purchase
from understudy.backoffice.settings import get_settings

BASIS = 10_000
ALL_PLANS = select(Plan)
NEW_PURCHASE = insert(Purchase)
COUNT_ACTIVE_DIRECT = (
    update(Member)
    .where(Member.id == bindparam("sponsor"))
    .values(active_direct_count=Member.active_direct_count + 1)
    .returning(Member.active_direct_count)
)
__all__ = ["current_plan", "has_paid_plan", "pay", "purchase"]


def purchase(
    session: Session,
    *,
    member: Member,
    plan: Plan,
    now: datetime,
    new_member: bool = False,
    plans: Sequence[Plan] | None = None,
    sponsor_active: int | None = None,
    recorded: bool = False,
    earners: genealogy.Earners | None = None,
) -> None:
    """Buy a plan for the member: the sponsor pays, then the bonuses are paid.

    `new_member`: a sign-up's first purchase; its binary placement (not this) counts its BV
    and the active direct. What the caller may already have: `plans` (every plan),
    `sponsor_active` (the sponsor's active directs, this member counted), `recorded` (the
    purchase row is inserted), `earners` (who may earn, levels as `earning_levels`).
    Every wallet row of the purchase is written at the end, in one `wallets.write_many`; on
    PostgreSQL the matrix commission rows go in with it. Raises ledger.InsufficientFunds when
    the sponsor's purchase wallet is too low.
    """
    moves: list[wallets.Move] = []
    postgresql = session.get_bind().dialect.name == "postgresql"
    deferred: list[dict[str, Any]] | None = [] if postgresql else None
    if member.sponsor_id is not None:
        moves.append(
            wallets.Move(
                member.sponsor_id,
                get_settings().purchase_wallet,
                -plan.price,
                f"Sponsored Plan - {plan.name}",
            )
        )
    newly_active = plan.price > 0 and (new_member or not has_paid_plan(session, user_id=member.id))
    session.flush()
    bought = {
        "user_id": member.id,
        "plan_id": plan.id,
        "price": plan.price,
        "bv": plan.bv,
        "created_at": now,
    }
    connection = session.connection()
    if not recorded:
        connection.execute(NEW_PURCHASE, bought)  # a Core insert: no unit of work
    if newly_active and member.sponsor_id is not None and sponsor_active is None:
        sponsor_active = connection.execute(
            COUNT_ACTIVE_DIRECT, {"sponsor": member.sponsor_id}
        ).scalar_one()
        genealogy.refresh_loaded(session, member.sponsor_id, active_direct_count=sponsor_active)
    if plan.price > 0:
        # Everyone who may earn: sponsors up to the unilevel depth, matrix parents up to
        # MATRIX_DEPTH; their current plans and active directs in one query.
        by_id = {p.id: p for p in (session.scalars(ALL_PLANS) if plans is None else plans)}
        deepest = max((len(p.unilevel_bp) for p in by_id.values()), default=0)
        if earners is None:
            sponsor_levels, matrix_levels = earning_levels(by_id.values())
            earners = genealogy.earners(
                session,
                member_id=member.id,
                sponsor_levels=sponsor_levels,
                matrix_levels=matrix_levels,
            )
        found = earners
        owned = {
            user_id: by_id[plan_id]
            for user_id, plan_id in found.plan_id.items()
            if plan_id is not None
        }
        if newly_active and member.sponsor_id is not None and found.sponsor_holds is not False:
            assert sponsor_active is not None
            matrix_bonus.release(
                session,
                earner_id=member.sponsor_id,
                now=now,
                into=moves,
                known=(owned.get(member.sponsor_id), sponsor_active),
            )
    if not new_member:
        binary.add_volume(session, member=member, bv=plan.bv, newly_active=newly_active)
    if plan.price > 0:
        _sponsor_bonuses(
            session,
            member=member,
            price=plan.price,
            now=now,
            into=moves,
            chain=(found.sponsors, owned, deepest),
        )
        matrix_bonus.award(
            session,
            buyer=member,
            price=plan.price,
            now=now,
            into=moves,
            known=(found.parents, owned, found.active_directs),
            deferred=deferred,
        )
    # PostgreSQL: the commission rows and their timers go in with the wallets' accounts.
    also = matrix_bonus.recording(deferred) if deferred else None
    label = f"Plan {plan.name} - {member.username}"
    wallets.write_many(session, moves, label=label, now=now, also=also)


def earning_levels(plans: Iterable[Plan]) -> tuple[int, int]:
    """How many sponsor levels and matrix levels may earn on a purchase."""
    deepest = max((len(p.unilevel_bp) for p in plans), default=0)
    compress = get_settings().unilevel_compression
    return (10_000 if compress else max(deepest, 1)), get_settings().matrix_depth


def _sponsor_bonuses(
    session: Session,
    *,
    member: Member,
    price: int,
    now: datetime,
    into: list[wallets.Move],
    chain: tuple[list[int], dict[int, Plan], int],
) -> None:
    """The direct bonus to the sponsor and the unilevel bonuses up the sponsor tree.

    `chain`: the sponsors nearest first (with compression, a long run of zero-rate sponsors
    may be skipped, so all of them), their plans, and the most unilevel levels any plan pays.
    """
    candidates, plans, deepest = chain
    compress = get_settings().unilevel_compression
    if member.sponsor_id is not None and (rules := plans.get(member.sponsor_id)) is not None:
        pay(
            session,
            user_id=member.sponsor_id,
            amount=price * rules.direct_bp // BASIS,
            description=f"Direct Bonus - {member.username}",
            now=now,
            into=into,
        )
    if deepest == 0:
        return
    level = 0
    for earner in candidates:
        found = plans.get(earner)
        rates = found.unilevel_bp if found is not None else []
        rate = rates[level] if level < len(rates) else 0
        if rate == 0 and compress:
            continue
        level += 1
        pay(
            session,
            user_id=earner,
            amount=price * rate // BASIS,
            description=f"Unilevel Bonus Level {level} - {member.username}",
            now=now,
            into=into,
        )
        if level >= deepest:
            return
