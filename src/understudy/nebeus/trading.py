"""Buying and selling bitcoin against the treasury (contract §7); limits by credit rank."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from understudy.core import ledger
from understudy.core.money import to_major
from understudy.nebeus import banking, loans
from understudy.nebeus.models import MoneyAccount, SavedCard, Trade, User

SPREAD = Decimal("0.02")
LIMITS = {0: 300, 1: 300, 2: 1000, 3: 2500, 4: 5000, 5: 10000}  # EUR per month by credit rank


def treasury_key(currency: str) -> str:
    """The ledger key of the platform's dealing account."""
    return f"nebeus:treasury:{currency}"


def dealing_rates(session: Session) -> tuple[Decimal, Decimal]:
    """(buy, sell) BTC-per-EUR rates: market·(1−s) and market·(1+s)."""
    market = banking.rates(session)["BTC"]
    return market * (1 - SPREAD), market * (1 + SPREAD)


def credit_rank(session: Session, *, user_id: int) -> int:
    """The dashboard's credit rank: verified KYC items and instalments repaid on time or late."""
    return loans.standing(session, user_id=user_id).credit_rank


def month_volume(session: Session, *, user_id: int, now: datetime) -> int:
    """EUR minor units bought plus sold since the 1st of this calendar month (UTC)."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    total = session.scalar(
        select(func.coalesce(func.sum(Trade.eur_amount), 0)).where(
            Trade.user_id == user_id, Trade.created_at >= start
        )
    )
    return int(total or 0)


def lock_trader(session: Session, *, user_id: int) -> None:
    """Serialise one user's trades (PostgreSQL row lock) so the monthly limit holds under races."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == user_id).with_for_update())


def remaining_limit(session: Session, *, user_id: int, now: datetime) -> Decimal:
    """EUR left to buy or sell this month (never negative)."""
    cap = Decimal(LIMITS[credit_rank(session, user_id=user_id)])
    used = to_major(month_volume(session, user_id=user_id, now=now), "EUR")
    return max(cap - used, Decimal(0))


def _treasury(session: Session, currency: str, now: datetime) -> int:
    return ledger.open_account(
        session, key=treasury_key(currency), currency=currency, now=now, allow_negative=True
    ).id


def buy(
    session: Session,
    *,
    user_id: int,
    btc_account: MoneyAccount,
    btc: int,
    eur: int,
    eur_wallet: MoneyAccount | None,
    now: datetime,
) -> str:
    """Credit BTC from the treasury, paid from the EUR wallet or (card) from outside."""
    if eur_wallet is not None:
        payer = eur_wallet.ledger_account_id
    else:
        payer = ledger.open_account(
            session, key=banking.world_key("EUR"), currency="EUR", now=now, allow_negative=True
        ).id
    lines = [
        (payer, -eur),
        (_treasury(session, "EUR", now), eur),
        (_treasury(session, "BTC", now), -btc),
        (btc_account.ledger_account_id, btc),
    ]
    try:
        posting = ledger.post(session, lines=lines, label="Buy bitcoin", now=now)
    except ledger.InsufficientFunds:
        raise banking.BankingError("Insufficient funds") from None
    session.add(Trade(user_id=user_id, kind="buy", btc_amount=btc, eur_amount=eur, created_at=now))
    return posting.ref


def sell(
    session: Session,
    *,
    user_id: int,
    btc_account: MoneyAccount,
    eur_account: MoneyAccount,
    btc: int,
    eur: int,
    now: datetime,
) -> str:
    """Debit BTC to the treasury and credit EUR from it."""
    lines = [
        (btc_account.ledger_account_id, -btc),
        (_treasury(session, "BTC", now), btc),
        (_treasury(session, "EUR", now), -eur),
        (eur_account.ledger_account_id, eur),
    ]
    try:
        posting = ledger.post(session, lines=lines, label="Sell bitcoin", now=now)
    except ledger.InsufficientFunds:
        raise banking.BankingError("Insufficient funds", "sell_sum") from None
    session.add(Trade(user_id=user_id, kind="sell", btc_amount=btc, eur_amount=eur, created_at=now))
    return posting.ref


def save_card(
    session: Session,
    *,
    user_id: int,
    number: str,
    holder: str,
    expiry: str,
    token: str,
    now: datetime,
) -> SavedCard:
    """Keep a card's first/last four digits, holder, expiry and token (never the CVV)."""
    card = SavedCard(
        user_id=user_id,
        first4=number[:4],
        last4=number[-4:],
        holder=holder[:200],
        expiry=expiry,
        token=token,
        created_at=now,
    )
    session.add(card)
    session.flush()
    return card


def cards_of(session: Session, *, user_id: int) -> list[SavedCard]:
    """The user's saved cards, oldest first."""
    return list(
        session.scalars(
            select(SavedCard).where(SavedCard.user_id == user_id).order_by(SavedCard.id)
        )
    )
