"""Double-entry ledger with holds.

Every movement is a balanced posting: its lines sum to zero per currency. A line's amount is
signed from the account holder's point of view (positive = money in). An account's `balance`
is the sum of its lines and `held` the sum of its pending holds; both are kept on the account
row, updated in the same transaction as the lines, with the database refusing a spendable
balance below zero (`balance - held >= 0`) for accounts that do not allow it. `verify()`
recomputes everything from the lines and holds.

Holds reserve funds: place -> post (charged, lines written) | void (released), exactly once,
guarded by a conditional state update.
"""

from __future__ import annotations

import secrets
import string
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from understudy.core.db import Base, UTCDateTime

REF_ALPHABET = string.ascii_lowercase + string.digits


class LedgerError(Exception):
    """Base of every ledger refusal; nothing has moved when one is raised."""


class InsufficientFunds(LedgerError):
    """The account's spendable balance does not cover the amount."""

    def __init__(self, account_id: int, amount: int) -> None:
        super().__init__(f"account {account_id} cannot cover {amount}")
        self.account_id = account_id
        self.amount = amount


class UnbalancedPosting(LedgerError):
    """The lines of a posting do not sum to zero in some currency."""


class CurrencyMismatch(LedgerError):
    """A line's currency differs from its account's currency."""


class HoldNotPending(LedgerError):
    """The hold was already posted or voided (or does not exist)."""


class Account(Base):
    """A balance in one currency, identified by a stable key such as `fivesim:user:7:RUB`."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("held >= 0", name="held_not_negative"),
        CheckConstraint("allow_negative OR balance - held >= 0", name="spendable_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    currency: Mapped[str] = mapped_column(String(10))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Posting(Base):
    """One balanced movement of money, with a short unique reference and a label."""

    __tablename__ = "ledger_postings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Line(Base):
    """One side of a posting: a signed amount on one account (positive = money in)."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_ledger_lines_account_created", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("ledger_postings.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Hold(Base):
    """Funds reserved on an account until posted or voided, each at most once."""

    __tablename__ = "ledger_holds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("state IN ('pending', 'posted', 'voided')", name="state_known"),
        Index("ix_ledger_holds_account_state", "account_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_postings.id"), nullable=True)


@dataclass(frozen=True)
class Balance:
    """An account's posted balance, the part on hold, and what is left to spend."""

    balance: int
    held: int

    @property
    def available(self) -> int:
        """Spendable amount: balance minus holds."""
        return self.balance - self.held


def _insert_ignore(session: Session):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def open_account(
    session: Session, *, key: str, currency: str, now: datetime, allow_negative: bool = False
) -> Account:
    """Get the account with this key, creating it if missing (safe under concurrent callers)."""
    account = session.scalar(select(Account).where(Account.key == key))
    if account is None:
        stmt = (
            _insert_ignore(session)(Account)
            .values(
                key=key,
                currency=currency,
                balance=0,
                held=0,
                allow_negative=allow_negative,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        session.execute(stmt)
        account = session.scalars(select(Account).where(Account.key == key)).one()
    if account.currency != currency:
        raise CurrencyMismatch(f"account {key} is in {account.currency}, not {currency}")
    return account


def get_account(session: Session, key: str) -> Account | None:
    """The account with this key, or None."""
    return session.scalar(select(Account).where(Account.key == key))


def balance_of(session: Session, account_id: int) -> Balance:
    """Current balance and holds of one account, read fresh from the database."""
    row = session.execute(
        select(Account.balance, Account.held).where(Account.id == account_id)
    ).one()
    return Balance(balance=row.balance, held=row.held)


def new_ref(session: Session, length: int = 8) -> str:
    """A random [a-z0-9] posting reference not used yet."""
    while True:
        ref = "".join(secrets.choice(REF_ALPHABET) for _ in range(length))
        if session.scalar(select(Posting.id).where(Posting.ref == ref)) is None:
            return ref


def post(
    session: Session,
    *,
    lines: Sequence[tuple[int, int]],
    label: str,
    now: datetime,
    ref: str | None = None,
) -> Posting:
    """Write a balanced posting of (account_id, signed amount) lines and apply it to balances.

    Raises InsufficientFunds if an account that may not go negative would have less than its
    holds; nothing is written then (the caller's transaction is to be rolled back).
    """
    merged: dict[int, int] = defaultdict(int)
    for account_id, amount in lines:
        merged[account_id] += amount
    merged = {a: v for a, v in merged.items() if v != 0}
    if not merged:
        raise UnbalancedPosting("a posting needs at least one non-zero line")
    currency_of = _lock_accounts(session, merged)
    missing = set(merged) - set(currency_of)
    if missing:
        raise LedgerError(f"unknown account(s) {sorted(missing)}")
    totals: dict[str, int] = defaultdict(int)
    for account_id, amount in merged.items():
        totals[currency_of[account_id]] += amount
    unbalanced = {c: t for c, t in totals.items() if t != 0}
    if unbalanced:
        raise UnbalancedPosting(f"posting {label!r} does not balance: {unbalanced}")

    # Debits first: with one debit a refusal happens before any write; with several, a
    # savepoint undoes the ones already applied.
    order = sorted(merged, key=lambda a: (merged[a] > 0, a))
    if sum(1 for v in merged.values() if v < 0) > 1:
        with session.begin_nested():
            for account_id in order:
                _apply(session, account_id, merged[account_id])
    else:
        for account_id in order:
            _apply(session, account_id, merged[account_id])
    posting = Posting(ref=ref or new_ref(session), label=label, created_at=now)
    session.add(posting)
    session.flush()
    session.add_all(
        Line(
            posting_id=posting.id,
            account_id=account_id,
            amount=amount,
            currency=currency_of[account_id],
            created_at=now,
        )
        for account_id, amount in merged.items()
    )
    session.flush()
    return posting


def transfer(
    session: Session,
    *,
    source: int,
    dest: int,
    amount: int,
    label: str,
    now: datetime,
    ref: str | None = None,
) -> Posting:
    """Move a positive amount from one account to another of the same currency."""
    if amount <= 0:
        raise LedgerError("transfer amount must be positive")
    return post(session, lines=[(source, -amount), (dest, amount)], label=label, now=now, ref=ref)


def _apply(session: Session, account_id: int, amount: int) -> None:
    """Add a signed amount to one account; refuses to spend beyond what is not held."""
    stmt = update(Account).where(Account.id == account_id).values(balance=Account.balance + amount)
    if amount < 0:
        stmt = stmt.where(Account.allow_negative | (Account.balance - Account.held >= -amount))
    if session.execute(stmt).rowcount != 1:
        raise InsufficientFunds(account_id, -amount)


def place_hold(
    session: Session, *, account_id: int, amount: int, label: str, now: datetime
) -> Hold:
    """Reserve a positive amount on an account; raises InsufficientFunds if it cannot cover it."""
    if amount <= 0:
        raise LedgerError("hold amount must be positive")
    stmt = (
        update(Account)
        .where(Account.id == account_id)
        .where(Account.allow_negative | (Account.balance - Account.held >= amount))
        .values(held=Account.held + amount)
    )
    if session.execute(stmt).rowcount != 1:
        if session.scalar(select(Account.id).where(Account.id == account_id)) is None:
            raise LedgerError(f"unknown account {account_id}")
        raise InsufficientFunds(account_id, amount)
    hold = Hold(account_id=account_id, amount=amount, label=label, state="pending", created_at=now)
    session.add(hold)
    session.flush()
    return hold


def _lock_accounts(session: Session, account_ids: Iterable[int]) -> dict[int, str]:
    """The currency of each existing account among these, locking their rows on PostgreSQL.

    Rows are locked in id order, and every writer locks all the accounts it will touch before
    updating any of them, so concurrent postings and hold resolutions cannot deadlock (SQLite
    has a single writer anyway).
    """
    stmt = select(Account.id, Account.currency).where(Account.id.in_(set(account_ids)))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.order_by(Account.id).with_for_update()
    return {account_id: currency for account_id, currency in session.execute(stmt)}


def _resolve(
    session: Session, hold_id: int, state: str, now: datetime, *, touching: Iterable[int] = ()
) -> Hold:
    """Claim a pending hold (at most one caller wins) and release its amount.

    `touching` names the other accounts the caller will write next, to lock them in order.
    """
    claimed = session.execute(
        update(Hold)
        .where(Hold.id == hold_id, Hold.state == "pending")
        .values(state=state, resolved_at=now)
    ).rowcount
    if claimed != 1:
        raise HoldNotPending(f"hold {hold_id} is not pending")
    hold = session.get(Hold, hold_id, populate_existing=True)
    assert hold is not None
    _lock_accounts(session, [hold.account_id, *touching])
    session.execute(
        update(Account).where(Account.id == hold.account_id).values(held=Account.held - hold.amount)
    )
    return hold


def post_hold(
    session: Session,
    *,
    hold_id: int,
    to: Iterable[tuple[int, int]],
    label: str,
    now: datetime,
    ref: str | None = None,
) -> Posting:
    """Charge a pending hold: its account pays the credits in `to` (at most the held amount).

    Whatever part of the hold is not charged is released. Raises HoldNotPending if the hold was
    already posted or voided.
    """
    credits = [(a, v) for a, v in to if v != 0]
    if any(v < 0 for _, v in credits):
        raise LedgerError("credits of a hold must be positive")
    # The claim and the posting succeed or fail together: a refusal found after the claim
    # (over-charge, unknown or foreign-currency credit account) must not leave the hold
    # marked posted with its funds released and nothing charged.
    with session.begin_nested():
        hold = _resolve(session, hold_id, "posted", now, touching=[a for a, _ in credits])
        charged = sum(v for _, v in credits)
        if charged > hold.amount:
            raise LedgerError(f"cannot charge {charged} on a hold of {hold.amount}")
        if charged == 0:
            raise LedgerError("posting a hold needs a positive charge; void it instead")
        posting = post(
            session, lines=[(hold.account_id, -charged), *credits], label=label, now=now, ref=ref
        )
        hold.posting_id = posting.id
        session.flush()
    return posting


def void_hold(session: Session, *, hold_id: int, now: datetime) -> Hold:
    """Release a pending hold without moving money; raises HoldNotPending if already resolved."""
    hold = _resolve(session, hold_id, "voided", now)
    session.flush()
    return hold


def verify(session: Session) -> list[str]:
    """Recompute balances and holds from lines and check every ledger invariant.

    Returns human-readable problems; an empty list means the ledger is consistent.
    """
    problems: list[str] = []
    sums = dict(
        session.execute(
            select(Line.account_id, func.sum(Line.amount)).group_by(Line.account_id)
        ).all()
    )
    pending = dict(
        session.execute(
            select(Hold.account_id, func.sum(Hold.amount))
            .where(Hold.state == "pending")
            .group_by(Hold.account_id)
        ).all()
    )
    # Plain columns, not ORM objects: objects already in this session's identity map would show
    # their cached attributes instead of what the database now holds.
    accounts = session.execute(
        select(
            Account.id, Account.key, Account.balance, Account.held, Account.allow_negative
        ).order_by(Account.id)
    ).all()
    for account in accounts:
        derived = int(sums.get(account.id) or 0)
        held = int(pending.get(account.id) or 0)
        if account.balance != derived:
            problems.append(f"{account.key}: balance {account.balance} != lines {derived}")
        if account.held != held:
            problems.append(f"{account.key}: held {account.held} != pending holds {held}")
        if not account.allow_negative and derived - held < 0:
            problems.append(f"{account.key}: spendable {derived - held} below zero")
    unbalanced = session.execute(
        select(Line.posting_id, Line.currency, func.sum(Line.amount))
        .group_by(Line.posting_id, Line.currency)
        .having(func.sum(Line.amount) != 0)
    ).all()
    problems.extend(f"posting {p} unbalanced in {c} by {s}" for p, c, s in unbalanced)
    mismatched = (
        session.execute(
            select(Line.id)
            .join(Account, Account.id == Line.account_id)
            .where(Line.currency != Account.currency)
        )
        .scalars()
        .all()
    )
    problems.extend(f"line {line_id} currency differs from its account" for line_id in mismatched)
    orphan_posted = (
        session.execute(select(Hold.id).where(Hold.state == "posted", Hold.posting_id.is_(None)))
        .scalars()
        .all()
    )
    problems.extend(f"hold {h} posted without a posting" for h in orphan_posted)
    return problems
