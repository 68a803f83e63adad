"""The compensation engine: plan purchases and the bonuses they pay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from understudy.backoffice import binary, genealogy, matrix_bonus, wallets
from understudy.backoffice.earnings import current_plan, has_paid_plan, pay, plans_of
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
    session: Session, *, member: Member, plan: Plan, now: datetime, new_member: bool = False
) -> None:
    """Buy a plan for the member: the sponsor pays, then the bonuses are paid.

    `new_member`: a sign-up's first purchase; the member has no binary place yet, and the
    placement that follows counts its BV and the active direct. Every wallet row of the
    purchase is written at the end, in one `wallets.write_many`.
    Raises ledger.InsufficientFunds when the sponsor's purchase wallet is too low.
    """
    moves: list[wallets.Move] = []
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
    session.connection().execute(NEW_PURCHASE, bought)  # a Core insert: no unit of work
    sponsors: list[int] = []
    parents: list[int] = []
    plans: dict[int, Plan] = {}
    deepest = 0
    if plan.price > 0:
        # Everyone who may earn: sponsors up to the unilevel depth, matrix parents up to
        # MATRIX_DEPTH; their current plans in one query.
        deepest = max((len(p.unilevel_bp) for p in session.scalars(ALL_PLANS)), default=0)
        compress = get_settings().unilevel_compression
        sponsors = genealogy.upline(
            session, member_id=member.id, levels=10_000 if compress else max(deepest, 1)
        )
        parents = genealogy.matrix_ancestors(
            session, member_id=member.id, levels=get_settings().matrix_depth
        )
        plans = plans_of(session, [*sponsors, *parents])
    if newly_active and member.sponsor_id is not None:
        active_directs = session.execute(
            COUNT_ACTIVE_DIRECT, {"sponsor": member.sponsor_id}
        ).scalar_one()
        matrix_bonus.release(
            session,
            earner_id=member.sponsor_id,
            now=now,
            into=moves,
            known=(plans.get(member.sponsor_id), active_directs),
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
            chain=(sponsors, plans, deepest),
        )
        matrix_bonus.award(
            session,
            buyer=member,
            price=plan.price,
            now=now,
            into=moves,
            known=(parents, plans),
        )
    wallets.write_many(session, moves, label=f"Plan {plan.name} - {member.username}", now=now)


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
