"""The compensation engine: plan purchases and the bonuses they pay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from understudy.backoffice import binary, genealogy, matrix_bonus, wallets
from understudy.backoffice.earnings import current_plan, has_paid_plan, pay
from understudy.backoffice.models import Member, Plan, Purchase
from understudy.backoffice.settings import get_settings

BASIS = 10_000
__all__ = ["current_plan", "has_paid_plan", "pay", "purchase"]


def purchase(session: Session, *, member: Member, plan: Plan, now: datetime) -> Purchase:
    """Buy a plan for the member: the sponsor pays, then the bonuses are paid.

    Raises ledger.InsufficientFunds when the sponsor's purchase wallet is too low.
    """
    if member.sponsor_id is not None:
        wallets.write(
            session,
            user_id=member.sponsor_id,
            wallet_id=get_settings().purchase_wallet,
            amount=-plan.price,
            description=f"Sponsored Plan - {plan.name}",
            now=now,
        )
    newly_active = plan.price > 0 and not has_paid_plan(session, user_id=member.id)
    bought = Purchase(
        user_id=member.id, plan_id=plan.id, price=plan.price, bv=plan.bv, created_at=now
    )
    session.add(bought)
    session.flush()
    if newly_active and member.sponsor_id is not None:
        session.execute(
            update(Member)
            .where(Member.id == member.sponsor_id)
            .values(active_direct_count=Member.active_direct_count + 1)
        )
        matrix_bonus.release(session, earner_id=member.sponsor_id, now=now)
    binary.add_volume(session, member=member, bv=plan.bv, newly_active=newly_active)
    _direct_bonus(session, member=member, price=plan.price, now=now)
    _unilevel_bonus(session, member=member, price=plan.price, now=now)
    matrix_bonus.award(session, buyer=member, price=plan.price, now=now)
    return bought


def _direct_bonus(session: Session, *, member: Member, price: int, now: datetime) -> None:
    if member.sponsor_id is None or price <= 0:
        return
    rules = current_plan(session, user_id=member.sponsor_id)
    if rules is None:
        return
    amount = price * rules.direct_bp // BASIS
    pay(
        session,
        user_id=member.sponsor_id,
        amount=amount,
        description=f"Direct Bonus - {member.username}",
        now=now,
    )


def _unilevel_bonus(session: Session, *, member: Member, price: int, now: datetime) -> None:
    if price <= 0:
        return
    compress = get_settings().unilevel_compression
    deepest = max((len(p.unilevel_bp) for p in session.scalars(select(Plan))), default=0)
    if deepest == 0:
        return
    level = 0
    # With compression a long run of zero-rate uplines may be skipped, so look further up.
    candidates = genealogy.upline(
        session, member_id=member.id, levels=10_000 if compress else deepest
    )
    for earner in candidates:
        rules = current_plan(session, user_id=earner)
        rates = rules.unilevel_bp if rules is not None else []
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
        )
        if level >= deepest:
            return
