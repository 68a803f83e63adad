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
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from understudy.core import ledger_sql as sql
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


_accounts = Account.__table__
_postings = Posting.__table__
_lines = Line.__table__
_holds = Hold.__table__


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _insert_ignore(session: Session):  # type: ignore[no-untyped-def]
    return pg_insert if _is_postgresql(session) else sqlite_insert


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
        select(_accounts.c.balance, _accounts.c.held).where(_accounts.c.id == account_id)
    ).one()
    return Balance(balance=row.balance, held=row.held)


def _random_ref(length: int) -> str:
    return "".join(secrets.choice(REF_ALPHABET) for _ in range(length))


def new_ref(session: Session, length: int = 8) -> str:
    """A random [a-z0-9] posting reference not used yet."""
    while True:
        ref = _random_ref(length)
        if session.scalar(select(_postings.c.id).where(_postings.c.ref == ref)) is None:
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
    holds; nothing is written then.
    """
    merged: dict[int, int] = defaultdict(int)
    for account_id, amount in lines:
        merged[account_id] += amount
    return _post(session, merged, {}, label=label, now=now, ref=ref)


def _post(
    session: Session,
    merged: dict[int, int],
    release: dict[int, int],
    *,
    label: str,
    now: datetime,
    ref: str | None,
) -> Posting:
    """Apply `merged` to balances and `release` to holds, then write the posting and its lines.

    On PostgreSQL the accounts are locked and checked before anything is written; on SQLite (one
    writer) the update reports what it found and a refused posting is undone before raising.
    """
    merged = {a: v for a, v in merged.items() if v != 0}
    if not merged:
        raise UnbalancedPosting("a posting needs at least one non-zero line")
    ids = sorted(merged.keys() | release.keys())
    params: dict[str, object] = {}
    for i, account_id in enumerate(ids):
        params[f"a{i}"] = account_id
        params[f"d{i}"] = merged.get(account_id, 0)
        params[f"r{i}"] = release.get(account_id, 0)
    k = len(ids)
    if _is_postgresql(session):
        currency_of = dict(session.execute(sql.lock_accounts(k), params).all())
        _check_posting(currency_of, merged, label)
        if not _update_accounts(session, k, params, returning=False)[0]:
            raise _refusal(session, merged, release, label)
    else:
        changed, currency_of = _update_accounts(session, k, params, returning=True)
        if not changed:
            raise _refusal(session, merged, release, label)
        try:
            _check_posting(currency_of, merged, label)
        except LedgerError:
            session.execute(sql.undo_accounts(k), params)
            raise
    posting_id, ref = _insert_posting(session, label=label, now=now, ref=ref)
    lines: dict[str, object] = {"posting_id": posting_id, "created_at": now}
    for i, (account_id, amount) in enumerate(merged.items()):
        lines[f"a{i}"] = account_id
        lines[f"d{i}"] = amount
        lines[f"c{i}"] = currency_of[account_id]
    session.execute(sql.insert_lines(len(merged)), lines)
    return Posting(id=posting_id, ref=ref, label=label, created_at=now)


def _update_accounts(
    session: Session, k: int, params: dict[str, object], *, returning: bool
) -> tuple[bool, dict[int, str]]:
    """The all-or-nothing balance update: whether it changed the k rows, and their currencies
    when `returning` (SQLite, where nothing was read before)."""
    if returning:
        found = dict(session.execute(sql.update_accounts(k, returning=True), params).all())
        return bool(found), found
    return session.execute(sql.update_accounts(k, returning=False), params).rowcount == k, {}


def _check_posting(currency_of: dict[int, str], merged: dict[int, int], label: str) -> None:
    """Raise unless every account exists and the lines balance per currency."""
    missing = set(merged) - set(currency_of)
    if missing:
        raise LedgerError(f"unknown account(s) {sorted(missing)}")
    totals: dict[str, int] = defaultdict(int)
    for account_id, amount in merged.items():
        totals[currency_of[account_id]] += amount
    unbalanced = {c: t for c, t in totals.items() if t != 0}
    if unbalanced:
        raise UnbalancedPosting(f"posting {label!r} does not balance: {unbalanced}")


def _refusal(
    session: Session, merged: dict[int, int], release: dict[int, int], label: str
) -> LedgerError:
    """Why an all-or-nothing account update changed nothing, checked in the order post promises."""
    ids = sorted(merged.keys() | release.keys())
    rows = session.execute(
        select(
            _accounts.c.id,
            _accounts.c.currency,
            _accounts.c.balance,
            _accounts.c.held,
            _accounts.c.allow_negative,
        ).where(_accounts.c.id.in_(ids))
    ).all()
    try:
        _check_posting({r.id: r.currency for r in rows}, merged, label)
    except LedgerError as refusal:
        return refusal
    for row in rows:
        amount = merged.get(row.id, 0)
        spendable = row.balance + amount - (row.held - release.get(row.id, 0))
        if amount < 0 and not row.allow_negative and spendable < 0:
            return InsufficientFunds(row.id, -amount)
    missing = set(ids) - {r.id for r in rows}
    if missing:
        return LedgerError(f"unknown account(s) {sorted(missing)}")
    return LedgerError(f"accounts {ids} changed while posting")


def _insert_posting(
    session: Session, *, label: str, now: datetime, ref: str | None
) -> tuple[int, str]:
    """Insert the posting row; a generated reference is drawn again until it is unused."""
    if ref is not None:
        params = {"ref": ref, "label": label, "created_at": now}
        return session.execute(sql.INSERT_POSTING, params).scalar_one(), ref
    while True:
        ref = _random_ref(8)
        params = {"ref": ref, "label": label, "created_at": now}
        posting_id = session.execute(sql.INSERT_POSTING_UNLESS_TAKEN, params).scalar()
        if posting_id is not None:
            return posting_id, ref


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


def place_hold(
    session: Session, *, account_id: int, amount: int, label: str, now: datetime
) -> Hold:
    """Reserve a positive amount on an account; raises InsufficientFunds if it cannot cover it."""
    if amount <= 0:
        raise LedgerError("hold amount must be positive")
    params = {"account_id": account_id, "amount": amount}
    if session.execute(sql.RESERVE, params).rowcount != 1:
        if session.scalar(select(_accounts.c.id).where(_accounts.c.id == account_id)) is None:
            raise LedgerError(f"unknown account {account_id}")
        raise InsufficientFunds(account_id, amount)
    hold_id = session.execute(
        sql.INSERT_HOLD, {**params, "label": label, "created_at": now}
    ).scalar_one()
    return Hold(
        id=hold_id,
        account_id=account_id,
        amount=amount,
        label=label,
        state="pending",
        created_at=now,
        resolved_at=None,
        posting_id=None,
    )


def _claim(session: Session, hold_id: int, state: str, now: datetime) -> tuple[int, int]:
    """Move a pending hold to `state` (at most one caller wins); its (account id, amount)."""
    row = session.execute(
        sql.CLAIM_HOLD, {"hold_id": hold_id, "state": state, "resolved_at": now}
    ).first()
    if row is None:
        raise HoldNotPending(f"hold {hold_id} is not pending")
    return row.account_id, row.amount


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
    already posted or voided; on any other refusal the hold stays pending and nothing moves.
    """
    credits: dict[int, int] = defaultdict(int)
    for account_id, amount in to:
        if amount < 0:
            raise LedgerError("credits of a hold must be positive")
        credits[account_id] += amount
    charged = sum(credits.values())
    account_id, held = _claim(session, hold_id, "posted", now)
    try:
        if charged > held:
            raise LedgerError(f"cannot charge {charged} on a hold of {held}")
        if charged == 0:
            raise LedgerError("posting a hold needs a positive charge; void it instead")
        merged = dict(credits)
        merged[account_id] = merged.get(account_id, 0) - charged
        posting = _post(session, merged, {account_id: held}, label=label, now=now, ref=ref)
    except LedgerError:
        session.execute(sql.UNCLAIM_HOLD, {"hold_id": hold_id})
        raise
    session.execute(sql.LINK_HOLD, {"hold_id": hold_id, "posting_id": posting.id})
    return posting


def void_hold(session: Session, *, hold_id: int, now: datetime) -> Hold:
    """Release a pending hold without moving money; raises HoldNotPending if already resolved."""
    account_id, amount = _claim(session, hold_id, "voided", now)
    session.execute(sql.RELEASE, {"account_id": account_id, "amount": amount})
    return Hold(id=hold_id, account_id=account_id, amount=amount, state="voided", resolved_at=now)


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
