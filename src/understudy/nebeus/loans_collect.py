"""Collecting loan instalments (contract §9): on due dates by the timer, or early by the
borrower; late marking with daily retries, default after 30 days, lazy application on reads.

Each collection claims its instalment with a conditional update in the same transaction as
the "Loan repayment" posting, so an instalment is collected once whichever worker, timer or
request gets there first.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, case, cast, func, or_, select, update
from sqlalchemy.orm import Session

from understudy.core import ledger, mail, timers
from understudy.core.money import to_major
from understudy.nebeus import banking
from understudy.nebeus.loans import (
    COLLATERAL,
    COLLECT,
    DISBURSE,
    LATE_LIMIT_DAYS,
    REPAYMENT,
    RETRY,
    UNPAID,
    LoanError,
    party_loan,
    wallet,
)
from understudy.nebeus.loans_models import Instalment, Loan
from understudy.nebeus.models import MoneyAccount, User


class _Taken(Exception):
    """The instalment was paid or closed by someone else first."""


def _collect(session: Session, inst: Instalment, loan: Loan, now: datetime) -> bool:
    """Take one unpaid instalment from the borrower to the lender; False if funds lack."""
    if loan.state != "active" or loan.funding_account_id is None:
        return False
    lender = session.get(MoneyAccount, loan.funding_account_id)
    borrower = wallet(session, user_id=loan.borrower_id, currency=loan.currency)
    assert lender is not None and borrower is not None
    try:
        with session.begin_nested():
            claimed = session.execute(
                update(Instalment)
                .where(Instalment.id == inst.id, Instalment.state.in_(UNPAID))
                .values(state="paid", paid_at=now)
            ).rowcount
            if claimed != 1:
                raise _Taken
            if inst.amount > 0:
                posting = ledger.transfer(
                    session,
                    source=borrower.ledger_account_id,
                    dest=lender.ledger_account_id,
                    amount=inst.amount,
                    label=REPAYMENT,
                    now=now,
                )
                session.execute(
                    update(Instalment).where(Instalment.id == inst.id).values(posting_id=posting.id)
                )
    except (ledger.InsufficientFunds, _Taken):
        session.refresh(inst)
        return False
    session.refresh(inst)
    timers.cancel(session, kind=COLLECT, key=str(inst.id))
    _close_if_repaid(session, loan, now)
    return True


def _close_if_repaid(session: Session, loan: Loan, now: datetime) -> None:
    left = session.scalar(
        select(func.count()).where(Instalment.loan_id == loan.id, Instalment.state.in_(UNPAID))
    )
    if left:
        return
    closed = session.execute(
        update(Loan)
        .where(Loan.id == loan.id, Loan.state == "active")
        .values(state="repaid", closed_at=now)
    ).rowcount
    if closed == 1 and loan.collateral_hold_id is not None:
        ledger.void_hold(session, hold_id=loan.collateral_hold_id, now=now)
    session.refresh(loan)


def repay(session: Session, *, user_id: int, loan_id: int, now: datetime) -> Instalment:
    """The borrower pays the oldest unpaid instalment now."""
    loan = party_loan(session, user_id=user_id, loan_id=loan_id)
    while loan.borrower_id == user_id and loan.state == "active":
        inst = session.scalar(
            select(Instalment)
            .where(Instalment.loan_id == loan.id, Instalment.state.in_(UNPAID))
            .order_by(Instalment.number)
            .limit(1)
        )
        if inst is None:
            break
        if _collect(session, inst, loan, now):
            return inst
        if inst.state in UNPAID:
            raise LoanError("Insufficient funds")
        session.refresh(loan)  # a timer took that one meanwhile: the next, if any
    raise LoanError("Nothing to repay", "loan_id")


@timers.handler(COLLECT)
def _due(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Collect a due instalment, else mark it late, retry daily, default after 30 days."""
    collect_due(session, instalment_id=int(key), now=now)


def collect_due(session: Session, *, instalment_id: int, now: datetime) -> str:
    """Apply one due instalment; returns its state afterwards."""
    inst = session.get(Instalment, instalment_id)
    if inst is None or inst.state not in UNPAID:
        return inst.state if inst else "missing"
    loan = session.get(Loan, inst.loan_id)
    assert loan is not None
    if _collect(session, inst, loan, now):
        return "paid"
    if loan.state != "active" or inst.state not in UNPAID:  # closed, or taken meanwhile
        return inst.state
    if inst.state == "scheduled":
        marked = session.execute(
            update(Instalment)
            .where(Instalment.id == inst.id, Instalment.state == "scheduled")
            .values(state="late", late_at=now)
        ).rowcount
        if marked == 1:
            _notify_late(session, loan, inst, now)
        session.refresh(inst)
    days_late = (now - inst.due_at) // RETRY
    if days_late > LATE_LIMIT_DAYS:
        default(session, loan=loan, now=now)
        return "defaulted"
    retry_at = inst.due_at + (days_late + 1) * RETRY
    timers.schedule(session, kind=COLLECT, key=str(inst.id), due_at=retry_at)
    return "late"


def default(session: Session, *, loan: Loan, now: datetime) -> bool:
    """Active → defaulted: unpaid instalments defaulted, all collateral posted to the lender."""
    closed = session.execute(
        update(Loan)
        .where(Loan.id == loan.id, Loan.state == "active")
        .values(state="defaulted", closed_at=now)
    ).rowcount
    if closed != 1:
        return False
    open_ids = session.scalars(
        select(Instalment.id).where(Instalment.loan_id == loan.id, Instalment.state.in_(UNPAID))
    ).all()
    session.execute(update(Instalment).where(Instalment.id.in_(open_ids)).values(state="defaulted"))
    for inst_id in open_ids:
        timers.cancel(session, kind=COLLECT, key=str(inst_id))
    session.refresh(loan)
    if loan.collateral_hold_id is not None and loan.lender_id is not None:
        assert loan.collateral_amount is not None and loan.collateral_currency is not None
        dest = banking.ensure_account(
            session, user_id=loan.lender_id, currency=loan.collateral_currency, now=now
        )
        ledger.post_hold(
            session,
            hold_id=loan.collateral_hold_id,
            to=[(dest.ledger_account_id, loan.collateral_amount)],
            label=COLLATERAL,
            now=now,
        )
    _mail_parties(
        session,
        loan,
        subject=f"Loan #{loan.id} defaulted",
        body=f"Loan #{loan.id} was not repaid within 30 days of a due date and has defaulted.",
        now=now,
    )
    return True


def _notify_late(session: Session, loan: Loan, inst: Instalment, now: datetime) -> None:
    amount = to_major(inst.amount, loan.currency)
    _mail_parties(
        session,
        loan,
        subject=f"Loan #{loan.id}: instalment {inst.number} is late",
        body=(
            f"Instalment {inst.number} of loan #{loan.id} ({amount} {loan.currency}) could not "
            "be collected on its due date. It is retried daily."
        ),
        now=now,
    )


def _mail_parties(session: Session, loan: Loan, *, subject: str, body: str, now: datetime) -> None:
    for uid in (loan.borrower_id, loan.lender_id):
        user = session.get(User, uid) if uid is not None else None
        if user is not None:
            mail.queue_mail(session, to=user.login, subject=subject, body=body, now=now)


# --- lazy timers ------------------------------------------------------------------------------


def _due_timers(session: Session, *, user_id: int, now: datetime) -> list[tuple[int, str, str]]:
    """(id, kind, key) of the due timers of the user's funded and active loans, oldest first."""
    rows = session.execute(_due_timers_statement(), {"user_id": user_id, "now": now}).all()
    return [(tid, kind, key) for tid, kind, key in rows]


@lru_cache(maxsize=1)
def _due_timers_statement() -> Select[Any]:
    """The due timers (few, as the sweeper keeps up), by their due-time index, each kept if
    its key is an unpaid instalment or an in-force loan of the user (primary key lookups)."""
    timer = timers.Timer
    user_id = bindparam("user_id")

    def key_of(kind: str) -> Any:
        return case((timer.kind == kind, cast(timer.key, Integer)))  # numeric for loan kinds

    theirs = and_(
        or_(Loan.borrower_id == user_id, Loan.lender_id == user_id),
        Loan.state.in_(("funded", "active")),
    )
    unpaid = (
        select(Instalment.id)
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(Instalment.id == key_of(COLLECT), Instalment.state.in_(UNPAID), theirs)
    )
    funded = select(Loan.id).where(Loan.id == key_of(DISBURSE), theirs)
    return (
        select(timer.id, timer.kind, timer.key)
        .where(
            timer.due_at <= bindparam("now", type_=timer.due_at.type),
            or_(unpaid.exists(), funded.exists()),
        )
        .order_by(timer.due_at, timer.id)
    )


def due_for(session: Session, *, user_id: int, now: datetime) -> bool:
    """Whether a timer of the user's loans is due (so reading them must write)."""
    return bool(_due_timers(session, user_id=user_id, now=now))


def settle_due(session: Session, *, user_id: int, now: datetime) -> int:
    """Apply the due loan timers of the user's funded and active loans; returns how many ran."""
    ours = _due_timers(session, user_id=user_id, now=now)
    if ours and session.get_bind().dialect.name == "postgresql":
        # Claim them all before touching any account, skipping those a sweeper is running:
        # waiting for a timer while holding account locks could deadlock with it.
        free = set(
            session.scalars(
                select(timers.Timer.id)
                .where(timers.Timer.id.in_([tid for tid, _, _ in ours]))
                .order_by(timers.Timer.id)
                .with_for_update(skip_locked=True)
            )
        )
        ours = [row for row in ours if row[0] in free]
    ran = 0
    for _tid, kind, key in ours:
        if timers.run_if_due(session, kind=kind, key=key, now=now):
            ran += 1
    if ran:  # disbursements lay out new instalments that may be due already
        ran += settle_due(session, user_id=user_id, now=now)
    return ran
