"""Vendor payouts under review (contract §4.6): a withdrawal holds earnings until decided.

`POST /v1/vendor/withdraw` answers as before (the vendor's earnings and the chosen reserve drop
at once, a `withdraw` row is written) but the money only leaves when an operator approves:

- open: a ledger hold on the vendor's earnings (the earnings shown are balance minus holds, so
  the vendor sees the same drop) and a `pending` payout row;
- approve: the hold is posted to the world account (the money leaves the marketplace);
- reject: the hold is voided (the earnings come back), the reserve is given back and a positive
  `withdraw` row (the reversal of the first) tells the vendor.

A decision is a conditional update `WHERE state = 'pending'` checked by its row count, in the
same transaction as its ledger call: of two operators deciding at once exactly one has an
effect, the other gets PayoutDecided and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from understudy.core import ledger
from understudy.core.db import parse_id
from understudy.fivesim.models import Payout, Reserve, User
from understudy.fivesim.service import add_payment, vendor_account, world_account

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATES = (PENDING, APPROVED, REJECTED)
RECEIVER_LENGTH = 200
_payouts = Payout.__table__


class PayoutError(Exception):
    """A decision refused; nothing has changed when one is raised."""


class PayoutNotFound(PayoutError):
    """No payout has this id."""

    def __init__(self, payout_id: int) -> None:
        super().__init__(f"No payout {payout_id}.")
        self.payout_id = payout_id


class PayoutDecided(PayoutError):
    """The payout was already approved or rejected (perhaps a moment ago, by someone else)."""

    def __init__(self, payout_id: int, state: str) -> None:
        super().__init__(f"Payout {payout_id} was already {state}; nothing was changed.")
        self.payout_id = payout_id
        self.state = state


def open_payout(
    session: Session,
    *,
    user_id: int,
    method: str,
    receiver: str,
    reserve: str,
    amount: int,
    now: datetime,
) -> Payout:
    """Hold `amount` of the vendor's earnings and record a pending payout.

    Raises ledger.InsufficientFunds when the earnings not already held cannot cover it.
    """
    account = vendor_account(session, user_id=user_id, now=now)
    hold = ledger.place_hold(
        session,
        account_id=account.id,
        amount=amount,
        label=f"fivesim payout {method} via {reserve}",
        now=now,
    )
    payout = Payout(
        user_id=user_id,
        method=method,
        receiver=receiver[:RECEIVER_LENGTH],
        reserve=reserve,
        amount=amount,
        hold_id=hold.id,
        state=PENDING,
        created_at=now,
    )
    session.add(payout)
    session.flush()
    return payout


@dataclass(frozen=True)
class Decided:
    """What a decision did: the payout's fields after it."""

    id: int
    user_id: int
    method: str
    reserve: str
    amount: int
    hold_id: int
    state: str


def _claim(
    session: Session, *, payout_id: int, state: str, operator_id: int | None, now: datetime
) -> Decided:
    """Move a pending payout to `state` (one caller wins); raises unless this call moved it."""
    moved = session.execute(
        update(_payouts)
        .where(_payouts.c.id == payout_id, _payouts.c.state == PENDING)
        .values(state=state, decided_at=now, decided_by=operator_id)
    ).rowcount
    row = session.execute(
        select(
            _payouts.c.id,
            _payouts.c.user_id,
            _payouts.c.method,
            _payouts.c.reserve,
            _payouts.c.amount,
            _payouts.c.hold_id,
            _payouts.c.state,
        ).where(_payouts.c.id == payout_id)
    ).first()
    if row is None:
        raise PayoutNotFound(payout_id)
    if moved != 1:
        raise PayoutDecided(payout_id, row.state)
    return Decided(*row)


def approve(session: Session, *, payout_id: int, operator_id: int | None, now: datetime) -> Decided:
    """Pay a pending payout out: its hold is posted to the world account, exactly once."""
    payout = _claim(session, payout_id=payout_id, state=APPROVED, operator_id=operator_id, now=now)
    ledger.post_hold(
        session,
        hold_id=payout.hold_id,
        to=[(world_account(session, now=now).id, payout.amount)],
        label=f"fivesim payout {payout.id}: {payout.method} via {payout.reserve}",
        now=now,
    )
    return payout


def reject(session: Session, *, payout_id: int, operator_id: int | None, now: datetime) -> Decided:
    """Refuse a pending payout: hold voided, reserve given back, a row tells the vendor."""
    payout = _claim(session, payout_id=payout_id, state=REJECTED, operator_id=operator_id, now=now)
    ledger.void_hold(session, hold_id=payout.hold_id, now=now)
    _give_back_reserve(session, name=payout.reserve, amount=payout.amount)
    add_payment(
        session,
        user_id=payout.user_id,
        type_name="withdraw",
        provider=payout.reserve,
        amount=payout.amount,
        now=now,
        vendor=True,
    )
    return payout


def _give_back_reserve(session: Session, *, name: str, amount: int) -> None:
    """Add the amount back to the reserve it was taken from."""
    added = session.execute(
        update(Reserve).where(Reserve.name == name).values(amount=Reserve.amount + amount)
    ).rowcount
    if added != 1:
        session.add(Reserve(name=name, amount=amount))
        session.flush()


@dataclass(frozen=True)
class PayoutRow:
    """A payout as the console lists it, with its vendor."""

    id: int
    vendor_id: int
    email: str
    vendor: str | None
    method: str
    receiver: str
    reserve: str
    amount: int
    state: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: int | None


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def page(session: Session, *, q: str, limit: int, offset: int) -> tuple[list[PayoutRow], int]:
    """One page of payouts, pending first (oldest first), then decided ones newest first.

    `q` matches the vendor's e-mail, vendor name or id, or the payout's state.
    """
    stmt = select(Payout, User.email, User.vendor).join(User, User.id == Payout.user_id)
    if q:
        pattern = _like(q)
        conditions = [
            func.lower(User.email).like(pattern, escape="\\"),
            func.lower(User.vendor).like(pattern, escape="\\"),
        ]
        if q.lower() in STATES:
            conditions.append(Payout.state == q.lower())
        if (ident := parse_id(q)) is not None:
            conditions.append(User.id == ident)
        stmt = stmt.where(or_(*conditions))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    waiting = Payout.state == PENDING
    # Pending ones first, oldest first (the review queue); then decided ones, newest first.
    order = (case((waiting, 0), else_=1), case((waiting, Payout.id), else_=-Payout.id))
    rows = session.execute(stmt.order_by(*order).limit(limit).offset(offset)).all()
    return [
        PayoutRow(
            p.id,
            p.user_id,
            email,
            name,
            p.method,
            p.receiver,
            p.reserve,
            p.amount,
            p.state,
            p.created_at,
            p.decided_at,
            p.decided_by,
        )
        for p, email, name in rows
    ], int(total)


def pending_total(session: Session) -> tuple[int, int]:
    """How many payouts wait for a decision, and their sum."""
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Payout.amount), 0)).where(
            Payout.state == PENDING
        )
    ).one()
    return int(count), int(total)
