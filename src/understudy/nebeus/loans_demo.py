"""Demo loans for `serve --demo`: a repaid loan, a late one and an active one with a schedule,
so the demo user's dashboard and graphic show real figures at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.context import AppContext
from understudy.core.money import to_minor
from understudy.nebeus import banking, identity, kyc, loans, loans_collect
from understudy.nebeus.loans_models import Loan

BORROWER, LENDER = "demo@example.com", "friend@example.com"


def _loan(
    session: Session,
    *,
    borrower: int,
    lender: int,
    amount: str,
    currency: str,
    term: int,
    rate_bp: int,
    at: datetime,
    collateral: tuple[int, str] | None = None,
) -> Loan:
    """A request funded and disbursed at `at`."""
    loan = loans.create_request(
        session,
        user_id=borrower,
        amount=to_minor(amount, currency),
        currency=currency,
        term=term,
        rate_bp=rate_bp,
        collateral=collateral,
        now=at,
    )
    loans.fund(session, user_id=lender, loan_id=loan.id, account_id=None, now=at)
    loans.disburse(session, loan_id=loan.id, now=at)
    return loan


def add_loans(ctx: AppContext) -> None:
    """Give the demo users their loans once (idempotent)."""
    with ctx.db.write() as session:
        now = ctx.now(session)
        demo = identity.find_user_by_login(session, BORROWER)
        friend = identity.find_user_by_login(session, LENDER)
        if demo is None or friend is None:
            return
        if session.scalar(select(Loan.id).where(Loan.borrower_id == demo.id).limit(1)):
            return
        for item in kyc.ITEMS:
            kyc.operator_set(session, user_id=demo.id, item=item, state="verified", now=now)
        for item in ("identity", "address"):
            kyc.operator_set(session, user_id=friend.id, item=item, state="verified", now=now)
        # The demo user's EUR and BTC sums stay as the demo prints them: loans in USD and GBP.
        for currency, amount in (("USD", "1000"), ("GBP", "500")):
            banking.deposit(
                session,
                user_id=friend.id,
                currency=currency,
                amount=to_minor(amount, currency),
                now=now - timedelta(days=130),
            )
        banking.deposit(
            session, user_id=demo.id, currency="USD", amount=to_minor("20", "USD"), now=now
        )

        # repaid: 150 USD over 2 months, four months ago, each instalment taken on its date
        repaid = _loan(
            session,
            borrower=demo.id,
            lender=friend.id,
            amount="150",
            currency="USD",
            term=2,
            rate_bp=600,
            at=now - timedelta(days=125),
        )
        for inst in loans.instalments(session, repaid.id):
            loans_collect.collect_due(session, instalment_id=inst.id, now=inst.due_at)

        # late: 100 GBP borrowed 40 days ago and sent on at once; the first instalment is late
        at = now - timedelta(days=40)
        late = _loan(
            session,
            borrower=demo.id,
            lender=friend.id,
            amount="100",
            currency="GBP",
            term=3,
            rate_bp=1200,
            at=at,
        )
        gbp = loans.wallet(session, user_id=demo.id, currency="GBP")
        assert gbp is not None
        banking.transfer(
            session,
            user_id=demo.id,
            debit_from=gbp,
            recipient=friend,
            amount=late.amount,
            now=at + timedelta(minutes=5),
        )
        first = loans.instalments(session, late.id)[0]
        loans_collect.collect_due(session, instalment_id=first.id, now=first.due_at)

        # active: 300 USD over 6 months from today, 0.01 BTC of collateral held
        _loan(
            session,
            borrower=demo.id,
            lender=friend.id,
            amount="300",
            currency="USD",
            term=6,
            rate_bp=900,
            at=now,
            collateral=(to_minor("0.01", "BTC"), "BTC"),
        )
