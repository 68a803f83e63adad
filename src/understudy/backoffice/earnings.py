"""What members earn: their current plan and commission payments to their wallets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.backoffice import wallets
from understudy.backoffice.models import Plan, Purchase


def current_plan(session: Session, *, user_id: int) -> Plan | None:
    """The plan of the member's latest purchase."""
    return session.scalar(
        select(Plan)
        .join(Purchase, Purchase.plan_id == Plan.id)
        .where(Purchase.user_id == user_id)
        .order_by(Purchase.id.desc())
        .limit(1)
    )


def has_paid_plan(session: Session, *, user_id: int) -> bool:
    """Whether the member ever held a plan priced above zero (an active direct)."""
    found = session.scalar(
        select(Purchase.id).where(Purchase.user_id == user_id, Purchase.price > 0).limit(1)
    )
    return found is not None


def pay(
    session: Session,
    *,
    user_id: int,
    amount: int,
    description: str,
    now: datetime,
    into: list[wallets.Move] | None = None,
) -> None:
    """Credit a commission to Commissions and Lifetime Earning; zero amounts are not written.

    With `into`, the two rows are queued there for one `wallets.write_many` instead.
    """
    if amount <= 0:
        return
    if into is not None:
        into.extend(
            wallets.Move(user_id, wallet_id, amount, description)
            for wallet_id in (wallets.COMMISSIONS, wallets.LIFETIME)
        )
        return
    for wallet_id in (wallets.COMMISSIONS, wallets.LIFETIME):
        wallets.write(
            session,
            user_id=user_id,
            wallet_id=wallet_id,
            amount=amount,
            description=description,
            now=now,
        )
