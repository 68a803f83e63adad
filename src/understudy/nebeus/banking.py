"""Currencies, rates and wallets on the core ledger: deposits, transfers, statements."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Select, Subquery, and_, bindparam, case, func, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from understudy.core import ledger
from understudy.core.db import row_by_id
from understudy.nebeus.loans_models import Loan
from understudy.nebeus.models import Currency, MoneyAccount, Partner, User

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# name, id, rate per EUR, symbol, symbol position
CURRENCIES = (
    ("EUR", 1, "1", "€", "before"),
    ("BTC", 2, "0.001163", "Ƀ", "after"),
    ("USD", 3, "1.07", "$", "before"),
    ("GBP", 4, "0.86", "£", "before"),
)
SUPPORTED = tuple(c[0] for c in CURRENCIES)


class BankingError(Exception):
    """A money rule refused the operation; `field` names the parameter when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def seed_currencies(session: Session) -> None:
    """Insert the supported currencies with their seeded rates, if missing."""
    for name, cid, rate, symbol, pos in CURRENCIES:
        if session.get(Currency, cid) is None:
            session.add(Currency(id=cid, name=name, rate=rate, symbol=symbol, symbol_pos=pos))
    session.flush()


def list_currencies(session: Session) -> list[Currency]:
    """Supported currencies by id."""
    return list(session.scalars(select(Currency).order_by(Currency.id)))


def rates(session: Session) -> dict[str, Decimal]:
    """Market rate (units per EUR) of each currency."""
    return {c.name: Decimal(c.rate) for c in session.scalars(select(Currency))}


def set_rate(session: Session, *, currency: str, rate: Decimal) -> None:
    """Set a currency's market rate (EUR stays 1)."""
    row = session.scalar(select(Currency).where(Currency.name == currency))
    if row is None:
        raise BankingError("Currency is not supported")
    if currency == "EUR" and rate != 1:
        raise BankingError("EUR is the company currency; its rate is 1")
    row.rate = str(rate.normalize()) if rate == rate.to_integral_value() else str(rate)


def user_key(user_id: int, currency: str) -> str:
    """The ledger key of a user's wallet."""
    return f"nebeus:user:{user_id}:{currency}"


def world_key(currency: str) -> str:
    """The ledger key of the platform's account for money entering or leaving."""
    return f"nebeus:world:{currency}"


def _acc_number(currency: str) -> str:
    if currency == "BTC":
        return "1" + "".join(secrets.choice(BASE58) for _ in range(33))
    return "NB" + "".join(secrets.choice("0123456789") for _ in range(14))


def create_account(session: Session, *, user_id: int, currency: str, now: datetime) -> MoneyAccount:
    """Open the user's wallet in this currency; raises BankingError if unsupported or present."""
    if currency not in SUPPORTED:
        raise BankingError("Currency is not supported")
    existing = session.scalar(
        select(MoneyAccount).where(
            MoneyAccount.user_id == user_id, MoneyAccount.currency == currency
        )
    )
    if existing is not None:
        raise BankingError("Account in this currency already exists")
    backing = ledger.open_account(
        session, key=user_key(user_id, currency), currency=currency, now=now
    )
    while True:
        number = _acc_number(currency)
        if session.scalar(select(MoneyAccount.id).where(MoneyAccount.acc_number == number)) is None:
            break
    account = MoneyAccount(
        user_id=user_id,
        currency=currency,
        acc_number=number,
        ledger_account_id=backing.id,
        created_at=now,
    )
    session.add(account)
    session.flush()
    return account


def ensure_account(session: Session, *, user_id: int, currency: str, now: datetime) -> MoneyAccount:
    """The user's wallet in this currency, created if missing (also when two callers race)."""
    wanted = select(MoneyAccount).where(
        MoneyAccount.user_id == user_id, MoneyAccount.currency == currency
    )
    existing = session.scalar(wanted)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            return create_account(session, user_id=user_id, currency=currency, now=now)
    except (IntegrityError, BankingError):
        raced = session.scalar(wanted)  # another transaction created it meanwhile (PostgreSQL)
        if raced is None:
            raise
        return raced


def accounts_of(session: Session, *, user_id: int) -> list[tuple[MoneyAccount, ledger.Balance]]:
    """The user's wallets in creation order with their balances."""
    rows = session.execute(
        select(MoneyAccount, ledger.Account.balance, ledger.Account.held)
        .join(ledger.Account, ledger.Account.id == MoneyAccount.ledger_account_id)
        .where(MoneyAccount.user_id == user_id)
        .order_by(MoneyAccount.id)
    ).all()
    return [(acc, ledger.Balance(balance=bal, held=held)) for acc, bal, held in rows]


def own_account(session: Session, *, user_id: int, account_id: object) -> MoneyAccount:
    """One of the user's wallets by id; raises BankingError "Account not found"."""
    if isinstance(account_id, bool) or not isinstance(account_id, (int, str)):
        raise BankingError("Account not found")
    try:
        wanted = int(account_id)
    except ValueError:
        raise BankingError("Account not found") from None
    account = row_by_id(session, MoneyAccount, wanted)
    if account is None or account.user_id != user_id:
        raise BankingError("Account not found")
    return account


def deposit(session: Session, *, user_id: int, currency: str, amount: int, now: datetime) -> str:
    """Credit the user's wallet from outside ("Deposit"); returns the posting ref."""
    account = ensure_account(session, user_id=user_id, currency=currency, now=now)
    world = ledger.open_account(
        session, key=world_key(currency), currency=currency, now=now, allow_negative=True
    )
    posting = ledger.transfer(
        session,
        source=world.id,
        dest=account.ledger_account_id,
        amount=amount,
        label="Deposit",
        now=now,
    )
    return posting.ref


def transfer(
    session: Session,
    *,
    user_id: int,
    debit_from: MoneyAccount,
    recipient: User,
    amount: int,
    now: datetime,
) -> str:
    """Move money to the recipient's wallet in the same currency ("Internal transfer")."""
    if recipient.id == user_id:
        raise BankingError("You cannot transfer to yourself")
    dest = ensure_account(session, user_id=recipient.id, currency=debit_from.currency, now=now)
    try:
        posting = ledger.transfer(
            session,
            source=debit_from.ledger_account_id,
            dest=dest.ledger_account_id,
            amount=amount,
            label="Internal transfer",
            now=now,
        )
    except ledger.InsufficientFunds:
        raise BankingError("Insufficient funds", "sum") from None
    return posting.ref


@dataclass(frozen=True)
class Movement:
    """One posted line on a user's wallet, with its counterparty."""

    ref: str
    label: str
    currency: str
    amount: int  # signed: positive = money in
    created_at: datetime
    counterparty: Partner | None  # None = the platform ("Internal Transfer")


def movements(
    session: Session,
    *,
    user_id: int,
    account_id: int | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[Movement]:
    """The user's posted lines, newest first, with the counterparty of each."""
    line = ledger.Line
    page = (
        select(line)
        .join(MoneyAccount, MoneyAccount.ledger_account_id == line.account_id)
        .where(MoneyAccount.user_id == user_id)
        .order_by(line.created_at.desc(), line.id.desc())
        .offset(offset)
    )
    if account_id is not None:
        page = page.where(MoneyAccount.id == account_id)
    if date_from is not None:
        page = page.where(line.created_at >= date_from)
    if date_to is not None:
        page = page.where(line.created_at <= date_to)
    if limit is not None:
        page = page.limit(limit)
    return _movements(session.execute(_described(page.subquery())))


def newest(session: Session, *, wallets: list[int], count: int) -> list[Movement]:
    """The newest `count` posted lines of these ledger accounts, newest first, described."""
    if not wallets:
        return []
    params = {f"wallet{k}": wallet for k, wallet in enumerate(wallets)}
    return _movements(session.execute(_newest_statement(len(wallets), count), params))


@lru_cache(maxsize=16)
def _newest_statement(wallets: int, count: int) -> Select[Any]:
    """`newest` for this many wallets (bound as wallet0, wallet1, ...), built once."""
    line = ledger.Line
    per_wallet = [  # an index range scan each, where one scan of all the lines would sort them
        select(line.id)
        .where(line.account_id == bindparam(f"wallet{k}"))
        .order_by(line.created_at.desc(), line.id.desc())
        .limit(count)
        .subquery()
        for k in range(wallets)
    ]
    candidates = union_all(*[select(sub.c.id) for sub in per_wallet])
    page = (
        select(line)
        .where(line.id.in_(candidates))
        .order_by(line.created_at.desc(), line.id.desc())
        .limit(count)
    )
    return _described(page.subquery())


def _described(page: Subquery) -> Select[Any]:
    """The page's lines, newest first, with ref, label and the counterparty's partners.

    The counterparty is the owner of the posting's only other account when that is a user's
    wallet, else the platform; a loan disbursement reaches the borrower from the lender. The
    last two columns are that owner and the lender (or NULLs).
    """
    other = aliased(ledger.Line)
    only_other = (  # the posting's only other account, else NULL (by the posting index)
        select(case((func.count() == 1, func.min(other.account_id))))
        .where(other.posting_id == page.c.posting_id, other.account_id != page.c.account_id)
        .correlate(page)
        .scalar_subquery()
    )
    described = (
        select(page, ledger.Posting.ref, ledger.Posting.label, only_other.label("other_account"))
        .join(ledger.Posting, ledger.Posting.id == page.c.posting_id)
        .subquery()
    )
    lender_user, lender = aliased(User), aliased(Partner)
    return (
        select(described, Partner, lender)
        .outerjoin(MoneyAccount, MoneyAccount.ledger_account_id == described.c.other_account)
        .outerjoin(User, User.id == MoneyAccount.user_id)
        .outerjoin(Partner, Partner.id == User.partner_id)
        .outerjoin(
            Loan,
            and_(Loan.disbursement_posting_id == described.c.posting_id, described.c.amount > 0),
        )
        .outerjoin(lender_user, lender_user.id == Loan.lender_id)
        .outerjoin(lender, lender.id == lender_user.partner_id)
        .order_by(described.c.created_at.desc(), described.c.id.desc())
    )


def _movements(rows: Iterable[Row[Any]]) -> list[Movement]:
    """Movements from the rows of a `_described` statement."""
    return [
        Movement(
            ref=row.ref,
            label=row.label,
            currency=row.currency,
            amount=row.amount,
            created_at=row.created_at,
            counterparty=row[-1] or row[-2],
        )
        for row in rows
    ]


def available(session: Session, *, account: MoneyAccount) -> int:
    """What the wallet can spend now: balance minus holds."""
    return ledger.balance_of(session, account.ledger_account_id).available
