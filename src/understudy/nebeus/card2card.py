"""Card-to-card payments (contract §8): saved recipients, orders paid out by a timer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from understudy.core import ledger, timers
from understudy.nebeus.banking import BankingError, world_key
from understudy.nebeus.models import CardOrder, CardRecipient, MoneyAccount

KIND = "nebeus.card2card"
DELAY = timedelta(seconds=60)


def save_recipient(session: Session, *, user_id: int, **fields: Any) -> CardRecipient:
    """Keep a recipient for later payments."""
    row = CardRecipient(user_id=user_id, **fields)
    session.add(row)
    session.flush()
    return row


def recipient(session: Session, *, user_id: int, recipient_id: int) -> CardRecipient | None:
    """One of the user's saved recipients."""
    row = session.get(CardRecipient, recipient_id)
    return row if row is not None and row.user_id == user_id else None


def search(session: Session, *, user_id: int, query: str) -> list[CardRecipient]:
    """Saved recipients whose name, card number or e-mail contains the query."""
    pattern = f"%{query.lower().replace('%', '').replace('_', '')}%"
    return list(
        session.scalars(
            select(CardRecipient)
            .where(
                CardRecipient.user_id == user_id,
                or_(
                    CardRecipient.cardholder_name.ilike(pattern),
                    CardRecipient.card_number.like(pattern),
                    CardRecipient.email.ilike(pattern),
                ),
            )
            .order_by(CardRecipient.id)
        )
    )


def create_order(
    session: Session,
    *,
    user_id: int,
    from_sum: int,
    from_currency: str,
    to_sum: int,
    to_currency: str,
    wallet: MoneyAccount | None,
    card_number: str,
    cardholder_name: str,
    now: datetime,
) -> CardOrder:
    """Hold the wallet's funds (card sources were charged already) and schedule the payout."""
    hold_id = None
    if wallet is not None:
        try:
            hold_id = ledger.place_hold(
                session,
                account_id=wallet.ledger_account_id,
                amount=from_sum,
                label="Card to card transfer",
                now=now,
            ).id
        except ledger.InsufficientFunds:
            raise BankingError("Insufficient funds", "from_sum") from None
    order = CardOrder(
        user_id=user_id,
        from_sum=from_sum,
        from_currency=from_currency,
        to_sum=to_sum,
        to_currency=to_currency,
        account_id=wallet.id if wallet else None,
        hold_id=hold_id,
        recipient_card=card_number,
        recipient_name=cardholder_name[:200],
        state="pending",
        created_at=now,
    )
    session.add(order)
    session.flush()
    timers.schedule(session, kind=KIND, key=str(order.id), due_at=now + DELAY)
    return order


@timers.handler(KIND)
def _pay_out(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Post the wallet hold to the outside world ("Card to card transfer")."""
    order = session.get(CardOrder, int(key))
    if order is None or order.state != "pending":
        return
    if order.hold_id is not None:
        world = ledger.open_account(
            session,
            key=world_key(order.from_currency),
            currency=order.from_currency,
            now=now,
            allow_negative=True,
        )
        ledger.post_hold(
            session,
            hold_id=order.hold_id,
            to=[(world.id, order.from_sum)],
            label="Card to card transfer",
            now=now,
        )
    order.state = "done"


def settle_due(session: Session, *, user_id: int, now: datetime) -> None:
    """Apply the user's card-to-card payouts whose time has come (lazy timers)."""
    ids = session.scalars(
        select(CardOrder.id).where(CardOrder.user_id == user_id, CardOrder.state == "pending")
    ).all()
    for oid in ids:
        timers.run_if_due(session, kind=KIND, key=str(oid), now=now)


def due_for(session: Session, *, user_id: int, now: datetime) -> bool:
    """Whether one of the user's pending card-to-card payouts is due (reading must write)."""
    keys = [
        str(i)
        for i in session.scalars(
            select(CardOrder.id).where(CardOrder.user_id == user_id, CardOrder.state == "pending")
        )
    ]
    if not keys:
        return False
    due = select(timers.Timer.id).where(
        timers.Timer.kind == KIND, timers.Timer.key.in_(keys), timers.Timer.due_at <= now
    )
    return session.scalar(due.limit(1)) is not None
