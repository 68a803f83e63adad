"""Members' five wallets: append-only rows written through the core double-entry ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from understudy.backoffice.models import WalletEntry

__all__ = ["WalletEntry"]
from understudy.core import ledger

CURRENCY = "USD"
WORLD_KEY = "backoffice:world:USD"
WALLET_IDS = (1, 2, 3, 4, 5)
LIFETIME, MINING, CREDIT, RESERVE, COMMISSIONS = WALLET_IDS
PAGE_SIZE = 30


def account_key(user_id: int, wallet_id: int) -> str:
    """The ledger account behind one wallet."""
    return f"backoffice:user:{user_id}:wallet{wallet_id}:{CURRENCY}"


def write(
    session: Session,
    *,
    user_id: int,
    wallet_id: int,
    amount: int,
    description: str,
    now: datetime,
) -> WalletEntry:
    """Append a signed row; the money comes from or goes to the outside world.

    Raises ledger.InsufficientFunds when a debit would take the wallet below zero.
    """
    account = ledger.open_account(
        session, key=account_key(user_id, wallet_id), currency=CURRENCY, now=now
    )
    if amount != 0:
        world = ledger.open_account(
            session, key=WORLD_KEY, currency=CURRENCY, now=now, allow_negative=True
        )
        ledger.post(
            session, lines=[(world.id, -amount), (account.id, amount)], label=description, now=now
        )
    balance = ledger.balance_of(session, account.id).balance
    entry = WalletEntry(
        user_id=user_id,
        wallet_id=wallet_id,
        amount=amount,
        balance=balance,
        description=description,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def balance(session: Session, *, user_id: int, wallet_id: int) -> int:
    """A wallet's balance in cents (0 before its first row)."""
    account = ledger.get_account(session, account_key(user_id, wallet_id))
    return 0 if account is None else ledger.balance_of(session, account.id).balance


def page(
    session: Session, *, user_id: int, wallet_id: int, number: int
) -> tuple[list[WalletEntry], int]:
    """One page (30 rows, by id) of a wallet and the number of pages."""
    where = (WalletEntry.user_id == user_id, WalletEntry.wallet_id == wallet_id)
    count = session.scalar(select(func.count()).select_from(WalletEntry).where(*where)) or 0
    pages = -(-count // PAGE_SIZE)
    if number > pages:
        return [], pages
    rows = session.scalars(
        select(WalletEntry)
        .where(*where)
        .order_by(WalletEntry.id)
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return list(rows), pages
