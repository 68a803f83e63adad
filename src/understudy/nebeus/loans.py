"""P2P loans (contract §9): requests with collateral, funding, disbursement, annuity schedules,
collection on due dates by timers, late marking, default, cancellation, caps by credit rank.

Every state change is a conditional update (`... WHERE state = <expected>`) made in the same
transaction as the ledger movement it guards, so an instalment is collected, a loan disbursed
or defaulted at most once whichever worker, timer or request gets there first.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from understudy.core import ledger, timers
from understudy.core.db import row_by_id
from understudy.core.money import to_major
from understudy.nebeus import banking, kyc
from understudy.nebeus.loans_models import Instalment, Loan
from understudy.nebeus.models import MoneyAccount, User, Verification

DISBURSE = "nebeus.loan.disburse"
COLLECT = "nebeus.loan.instalment"
DISBURSEMENT = "Disbursement of a loan"
REPAYMENT = "Loan repayment"
COLLATERAL = "Collateral transfer"
LATE_LIMIT_DAYS = 30  # whole days late before the loan defaults
RETRY = timedelta(days=1)
CAPS = {2: 500, 3: 1000, 4: 2500, 5: 5000}  # EUR of open + outstanding principal by rank
MAX_TERM = 36
UNPAID = ("scheduled", "late")
IN_FORCE = ("open", "funded", "active")


def unindexed(state: Any) -> Any:
    """A NOT NULL text column as an expression that no index matches.

    For per-user queries: planners without statistics (SQLite by default) would otherwise
    prefer the index on `state`, scanning every user's rows in that state, to the user's own.
    """
    return func.coalesce(state, "")


class LoanError(Exception):
    """A loan rule refused the operation; `field` names the parameter when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Standing:
    """A user's verification points, loan record and the rank and rating derived from them."""

    verification: dict[str, str]  # item -> status
    on_time: int  # instalments paid without ever being late
    late: int  # instalments that were ever late
    defaulted_loans: int

    @property
    def points(self) -> int:
        """5 points per verified KYC item."""
        return sum(5 for status in self.verification.values() if status == "verified")

    @property
    def rank_points(self) -> int:
        """Verification points + 2 per instalment paid on time − 2 per late one, at least 0."""
        return max(0, self.points + 2 * self.on_time - 2 * self.late)

    @property
    def credit_rank(self) -> int:
        """min(5, rank_points // 5)."""
        return min(5, self.rank_points // 5)

    @property
    def rating(self) -> int:
        """5 − late instalments − 2 per defaulted loan, within 0..5 (as borrower)."""
        return max(0, min(5, 5 - self.late - 2 * self.defaulted_loans))


def standing(session: Session, *, user_id: int) -> Standing:
    """The user's credit standing from KYC states and their loans as borrower (one statement)."""
    on_time, late, defaulted, *states = session.execute(
        _standing_statement(), {"user_id": user_id}
    ).one()
    return Standing(
        verification={
            item: state or "not_verified" for item, state in zip(kyc.ITEMS, states, strict=True)
        },
        on_time=int(on_time or 0),
        late=int(late or 0),
        defaulted_loans=int(defaulted or 0),
    )


@lru_cache(maxsize=1)
def _standing_statement() -> Select[Any]:
    """Instalments paid on time and ever late, defaulted loans, then each KYC item's state."""
    user_id = bindparam("user_id")
    on_time = and_(Instalment.state == "paid", Instalment.late_at.is_(None))
    defaulted = aliased(Loan)
    kyc_states = [
        select(Verification.status)
        .where(Verification.user_id == user_id, Verification.item == item)
        .scalar_subquery()
        for item in kyc.ITEMS
    ]
    return (
        select(
            func.coalesce(func.sum(case((on_time, 1), else_=0)), 0),
            func.count(Instalment.late_at),
            select(func.count())
            .where(defaulted.borrower_id == user_id, unindexed(defaulted.state) == "defaulted")
            .scalar_subquery(),
            *kyc_states,
        )
        .select_from(Instalment)
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(Loan.borrower_id == user_id)
    )


# --- schedule ---------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (clamped to the month's last day)."""
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _round(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def annuity(principal: int, rate_bp: int, term: int) -> list[tuple[int, int]]:
    """(principal, interest) of each instalment in minor units; the last absorbs rounding.

    r = annual %/1200, A = P·r/(1−(1+r)^−n) (P/n when r = 0), interest = round(outstanding·r).
    """
    with localcontext() as exact:
        exact.prec = 50
        r = Decimal(rate_bp) / Decimal(120_000)
        p = Decimal(principal)
        payment = _round(p / term if r == 0 else p * r / (1 - (1 + r) ** -term))
        outstanding, rows = principal, []
        for k in range(1, term + 1):
            interest = _round(Decimal(outstanding) * r)
            part = outstanding if k == term else min(max(payment - interest, 0), outstanding)
            outstanding -= part
            rows.append((part, interest))
    return rows


# --- reading ----------------------------------------------------------------------------------


def get_loan(session: Session, loan_id: int) -> Loan | None:
    """A loan by id (ids out of range are not found)."""
    return row_by_id(session, Loan, loan_id)


def party_loan(session: Session, *, user_id: int, loan_id: int) -> Loan:
    """A loan the user borrows or lends; raises LoanError "Loan not found"."""
    loan = get_loan(session, loan_id)
    if loan is None or user_id not in (loan.borrower_id, loan.lender_id):
        raise LoanError("Loan not found", "loan_id")
    return loan


def instalments(session: Session, loan_id: int) -> list[Instalment]:
    """A loan's instalments by number."""
    return list(
        session.scalars(
            select(Instalment).where(Instalment.loan_id == loan_id).order_by(Instalment.number)
        )
    )


def outstanding(session: Session, loan_id: int) -> int:
    """Principal + interest of the loan's unpaid instalments."""
    total = session.scalar(
        select(func.coalesce(func.sum(Instalment.amount), 0)).where(
            Instalment.loan_id == loan_id, Instalment.state.in_(UNPAID)
        )
    )
    return int(total or 0)


def open_requests(
    session: Session, *, user_id: int, currency: str | None, offset: int, limit: int | None
) -> list[Loan]:
    """Other users' open requests, oldest first."""
    stmt = (
        select(Loan)
        .where(Loan.state == "open", Loan.borrower_id != user_id)
        .order_by(Loan.created_at, Loan.id)
        .offset(offset)
    )
    if currency is not None:
        stmt = stmt.where(Loan.currency == currency)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def loans_of(session: Session, *, user_id: int, role: str | None, state: str | None) -> list[Loan]:
    """The user's loans as borrower and/or lender, newest first."""
    if role == "borrower":
        who = Loan.borrower_id == user_id
    elif role == "lender":
        who = Loan.lender_id == user_id
    else:
        who = or_(Loan.borrower_id == user_id, Loan.lender_id == user_id)
    stmt = select(Loan).where(who).order_by(Loan.created_at.desc(), Loan.id.desc())
    if state is not None:
        stmt = stmt.where(Loan.state == state)
    return list(session.scalars(stmt))


# --- requests and caps ------------------------------------------------------------------------


def _eur(minor: int, currency: str, rates: dict[str, Decimal]) -> Decimal:
    return to_major(minor, currency) / rates[currency]


def exposure_eur(session: Session, *, user_id: int) -> Decimal:
    """EUR value of the user's open and funded requests plus unpaid principal of active loans."""
    rates = banking.rates(session)
    total = Decimal(0)
    pending = session.execute(
        select(Loan.currency, func.sum(Loan.amount))
        .where(Loan.borrower_id == user_id, Loan.state.in_(("open", "funded")))
        .group_by(Loan.currency)
    ).all()
    unpaid = session.execute(
        select(Loan.currency, func.sum(Instalment.principal))
        .join(Instalment, Instalment.loan_id == Loan.id)
        .where(
            Loan.borrower_id == user_id,
            Loan.state == "active",
            unindexed(Instalment.state).in_(UNPAID),
        )
        .group_by(Loan.currency)
    ).all()
    for currency, minor in [*pending, *unpaid]:
        total += _eur(int(minor), currency, rates)
    return total


def wallet(session: Session, *, user_id: int, currency: str) -> MoneyAccount | None:
    """The user's wallet in this currency, if open."""
    return session.scalar(
        select(MoneyAccount).where(
            MoneyAccount.user_id == user_id, MoneyAccount.currency == currency
        )
    )


def create_request(
    session: Session,
    *,
    user_id: int,
    amount: int,
    currency: str,
    term: int,
    rate_bp: int,
    collateral: tuple[int, str] | None,
    now: datetime,
) -> Loan:
    """Open a loan request within the borrower's cap, holding the collateral."""
    if session.get_bind().dialect.name == "postgresql":  # one request at a time per borrower
        session.execute(select(User.id).where(User.id == user_id).with_for_update())
    rank = standing(session, user_id=user_id).credit_rank
    if rank < 2:
        raise LoanError("Your credit rank does not allow borrowing")
    rates = banking.rates(session)
    if exposure_eur(session, user_id=user_id) + _eur(amount, currency, rates) > CAPS[rank]:
        raise LoanError("Amount exceeds your borrowing limit", "amount")
    hold_id = None
    if collateral is not None:
        minor, coll_currency = collateral
        account = wallet(session, user_id=user_id, currency=coll_currency)
        if account is None:
            raise LoanError("Insufficient funds", "collateral_amount")
        try:
            hold = ledger.place_hold(
                session,
                account_id=account.ledger_account_id,
                amount=minor,
                label="Loan collateral",
                now=now,
            )
        except ledger.InsufficientFunds:
            raise LoanError("Insufficient funds", "collateral_amount") from None
        hold_id = hold.id
    loan = Loan(
        borrower_id=user_id,
        state="open",
        amount=amount,
        currency=currency,
        term=term,
        rate_bp=rate_bp,
        collateral_amount=collateral[0] if collateral else None,
        collateral_currency=collateral[1] if collateral else None,
        collateral_hold_id=hold_id,
        created_at=now,
    )
    session.add(loan)
    session.flush()
    return loan


# --- funding, cancellation --------------------------------------------------------------------


def fund(session: Session, *, user_id: int, loan_id: int, account_id: Any, now: datetime) -> Loan:
    """Fund a whole open request: hold the amount on the lender's wallet, disburse by timer."""
    loan = get_loan(session, loan_id)
    if loan is None:
        raise LoanError("Loan not found", "loan_id")
    if loan.borrower_id == user_id:
        raise LoanError("You cannot fund your own loan", "loan_id")
    if account_id is None:
        account = wallet(session, user_id=user_id, currency=loan.currency)
        if account is None:
            raise LoanError("Insufficient funds")
    else:
        try:
            account = banking.own_account(session, user_id=user_id, account_id=account_id)
        except banking.BankingError as exc:
            raise LoanError(exc.message, "account_id") from None
        if account.currency != loan.currency:
            raise LoanError("Account currency does not match the loan", "account_id")
    claimed = session.execute(
        update(Loan)
        .where(Loan.id == loan.id, Loan.state == "open")
        .values(state="funded", lender_id=user_id, funded_at=now, funding_account_id=account.id)
    ).rowcount
    if claimed != 1:
        raise LoanError("Loan is not open for funding", "loan_id")
    try:
        hold = ledger.place_hold(
            session,
            account_id=account.ledger_account_id,
            amount=loan.amount,
            label="Loan funding",
            now=now,
        )
    except ledger.InsufficientFunds:
        raise LoanError("Insufficient funds") from None
    session.execute(update(Loan).where(Loan.id == loan.id).values(funding_hold_id=hold.id))
    timers.schedule(session, kind=DISBURSE, key=str(loan.id), due_at=now)
    session.refresh(loan)
    return loan


def cancel(session: Session, *, user_id: int, loan_id: int, now: datetime) -> Loan:
    """Borrower: open → cancelled (collateral released); lender: funded → open (funds released)."""
    loan = party_loan(session, user_id=user_id, loan_id=loan_id)
    if loan.borrower_id == user_id:
        claimed = session.execute(
            update(Loan)
            .where(Loan.id == loan.id, Loan.state == "open")
            .values(state="cancelled", closed_at=now)
        ).rowcount
        if claimed != 1:
            raise LoanError("Loan cannot be cancelled", "loan_id")
        if loan.collateral_hold_id is not None:
            ledger.void_hold(session, hold_id=loan.collateral_hold_id, now=now)
    else:
        funding_hold = loan.funding_hold_id
        claimed = session.execute(
            update(Loan)
            .where(Loan.id == loan.id, Loan.state == "funded", Loan.lender_id == user_id)
            .values(
                state="open",
                lender_id=None,
                funded_at=None,
                funding_account_id=None,
                funding_hold_id=None,
            )
        ).rowcount
        if claimed != 1:
            raise LoanError("Loan cannot be cancelled", "loan_id")
        timers.cancel(session, kind=DISBURSE, key=str(loan.id))
        if funding_hold is not None:
            ledger.void_hold(session, hold_id=funding_hold, now=now)
    session.refresh(loan)
    return loan


def escrow_key(currency: str) -> str:
    """The ledger key of the platform account loans pass through."""
    return f"nebeus:escrow:{currency}"


@timers.handler(DISBURSE)
def _disburse(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Post the funding hold lender → escrow → borrower, then lay out the schedule."""
    disburse(session, loan_id=int(key), now=now)


def disburse(session: Session, *, loan_id: int, now: datetime) -> bool:
    """Disburse a funded loan (at most once); returns whether it happened now."""
    claimed = session.execute(
        update(Loan)
        .where(Loan.id == loan_id, Loan.state == "funded")
        .values(state="active", disbursed_at=now)
    ).rowcount
    if claimed != 1:
        return False
    timers.cancel(session, kind=DISBURSE, key=str(loan_id))  # when not run by its timer
    loan = session.get(Loan, loan_id, populate_existing=True)
    assert loan is not None and loan.funding_hold_id is not None
    escrow = ledger.open_account(
        session, key=escrow_key(loan.currency), currency=loan.currency, now=now
    )
    ledger.post_hold(
        session,
        hold_id=loan.funding_hold_id,
        to=[(escrow.id, loan.amount)],
        label=DISBURSEMENT,
        now=now,
    )
    borrower = banking.ensure_account(
        session, user_id=loan.borrower_id, currency=loan.currency, now=now
    )
    posting = ledger.transfer(
        session,
        source=escrow.id,
        dest=borrower.ledger_account_id,
        amount=loan.amount,
        label=DISBURSEMENT,
        now=now,
    )
    loan.disbursement_posting_id = posting.id
    for number, (principal, interest) in enumerate(
        annuity(loan.amount, loan.rate_bp, loan.term), start=1
    ):
        row = Instalment(
            ref=_instalment_ref(session),
            loan_id=loan.id,
            number=number,
            due_at=add_months(now, number),
            principal=principal,
            interest=interest,
            amount=principal + interest,
            state="scheduled",
        )
        session.add(row)
        session.flush()
        timers.schedule(session, kind=COLLECT, key=str(row.id), due_at=row.due_at)
    return True


def _instalment_ref(session: Session) -> str:
    while True:
        ref = ledger.new_ref(session, 9)
        if session.scalar(select(Instalment.id).where(Instalment.ref == ref)) is None:
            return ref
