"""Operator actions: plan purchases for a member and cash-outs. Each returns a problem or None."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from understudy.backoffice import compensation, wallets
from understudy.backoffice.models import Cashout, CashoutCurrency, Member, Plan
from understudy.backoffice.settings import get_settings
from understudy.core import ledger
from understudy.core.db import row_by_id
from understudy.core.money import to_minor

STATUSES = ("approved", "rejected")


def _member(session: Session, username: str) -> Member | None:
    return session.scalar(select(Member).where(Member.username_key == username.strip().lower()))


def buy_plan(session: Session, *, username: str, plan: str, now: datetime) -> str | None:
    """Buy or upgrade a member's plan; the sponsor's purchase wallet pays."""
    member = _member(session, username)
    if member is None:
        return f"no member {username!r}"
    found = session.scalar(select(Plan).where(Plan.name == plan.strip()))
    if found is None:
        return f"no plan {plan!r}"
    try:
        with session.begin_nested():
            compensation.purchase(session, member=member, plan=found, now=now)
    except ledger.InsufficientFunds:
        return "the sponsor's purchase wallet is too low for this plan"
    return None


def request_cashout(
    session: Session,
    *,
    username: str,
    wallet_id: int,
    currency_id: int,
    amount: int,
    address: str,
    now: datetime,
) -> tuple[int | None, str | None]:
    """Debit the wallet at once and record a pending cash-out; returns (id, problem)."""
    member = _member(session, username)
    if member is None:
        return None, f"no member {username!r}"
    if wallet_id not in wallets.WALLET_IDS or wallet_id == wallets.LIFETIME:
        return None, "wallet_id must be 2 to 5 (Lifetime Earning is a running total)"
    currency = row_by_id(session, CashoutCurrency, currency_id)
    if currency is None:
        return None, f"no cash-out currency {currency_id}"
    if amount < to_minor(get_settings().cashout_min, wallets.CURRENCY):
        return None, f"the minimum cash-out is {get_settings().cashout_min}"
    if not address.strip():
        return None, "address must not be blank"
    try:
        with session.begin_nested():
            wallets.write(
                session,
                user_id=member.id,
                wallet_id=wallet_id,
                amount=-amount,
                description=f"Cashout - {currency.name}",
                now=now,
            )
    except ledger.InsufficientFunds:
        return None, "the wallet's balance is too low"
    row = Cashout(
        user_id=member.id,
        wallet_id=wallet_id,
        currency_id=currency.id,
        amount=amount,
        address=address.strip(),
        status="pending",
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id, None


def resolve_cashout(session: Session, *, cashout_id: int, status: str, now: datetime) -> str | None:
    """Approve or reject a pending cash-out, once; a rejection gives the money back."""
    if status not in STATUSES:
        return "status must be approved or rejected"
    claimed = session.execute(
        update(Cashout)
        .where(Cashout.id == cashout_id, Cashout.status == "pending")
        .values(status=status, resolved_at=now)
    ).rowcount
    if claimed != 1:
        return f"no pending cash-out {cashout_id}"
    row = session.get(Cashout, cashout_id, populate_existing=True)
    assert row is not None
    if status == "rejected":
        currency = session.get(CashoutCurrency, row.currency_id)
        assert currency is not None
        wallets.write(
            session,
            user_id=row.user_id,
            wallet_id=row.wallet_id,
            amount=row.amount,
            description=f"Cashout Rejected - {currency.name}",
            now=now,
        )
    return None
