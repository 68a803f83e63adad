"""Two workers' sweepers over hundreds of due instalments: each is collected exactly once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from understudy.context import AppContext
from understudy.core import ledger, timers
from understudy.core.clock import Clock, ClockState
from understudy.core.db import Database
from understudy.nebeus import banking, kyc, loans, loans_collect
from understudy.nebeus.loans_models import Instalment, Loan
from understudy.nebeus.models import Country, Partner, User

pytestmark = pytest.mark.slow

BORROWERS = 4
LOANS_EACH = 17
TERM = 3
AMOUNT = 3000  # 30.00 EUR
KINDS = (loans.COLLECT, loans.DISBURSE)


def make_user(session: Session, login: str, now: datetime, *, verified: bool = True) -> User:
    """A user with a partner and BTC + EUR wallets, made directly (no slow password hash)."""
    country = session.scalars(select(Country).where(Country.code == "ES")).one()
    partner = Partner(name="User", surname=login.split("@")[0], email=login, country_id=country.id)
    session.add(partner)
    session.flush()
    user = User(
        login=login,
        password_hash="!",  # no password signs in
        partner_id=partner.id,
        active=True,
        lang="en_US",
        tz=country.tz or "Europe/Madrid",
        created_at=now,
    )
    session.add(user)
    session.flush()
    for currency in ("BTC", "EUR"):
        banking.create_account(session, user_id=user.id, currency=currency, now=now)
    if verified:
        for item in kyc.ITEMS:
            kyc.operator_set(session, user_id=user.id, item=item, state="verified", now=now)
    return user


def _sweep(
    url: str, barrier: threading.Barrier, ran: list[int], errors: list[BaseException]
) -> None:
    """One worker: its own engine, running due timers until none is left to claim."""
    db = Database(url, pool_size=1)
    clock = Clock(sandbox=True)
    try:
        barrier.wait()
        while True:
            n = timers.run_due(db, clock.now, limit=20, kinds=KINDS)
            ran.append(n)
            if n == 0:
                return
    except BaseException as exc:  # reported by the test
        errors.append(exc)
    finally:
        db.dispose()


def test_two_sweepers_collect_each_instalment_once(ctx: AppContext, database_url: str) -> None:
    with ctx.db.write() as s:
        now = ctx.now(s)
        lender = make_user(s, "lender@example.com", now, verified=False)
        banking.deposit(s, user_id=lender.id, currency="EUR", amount=10**8, now=now)
        lender_wallet = loans.wallet(s, user_id=lender.id, currency="EUR")
        assert lender_wallet is not None
        for b in range(BORROWERS):
            user = make_user(s, f"b{b}@example.com", now)
            banking.deposit(s, user_id=user.id, currency="EUR", amount=10**6, now=now)
            for _ in range(LOANS_EACH):
                loan = loans.create_request(
                    s,
                    user_id=user.id,
                    amount=AMOUNT,
                    currency="EUR",
                    term=TERM,
                    rate_bp=1200,
                    collateral=None,
                    now=now,
                )
                loans.fund(s, user_id=lender.id, loan_id=loan.id, account_id=None, now=now)
                assert loans.disburse(s, loan_id=loan.id, now=now)
        expected = s.scalar(select(func.sum(Instalment.amount)))
        start = ledger.balance_of(s, lender_wallet.ledger_account_id).balance
        # every instalment falls due: move the shared clock without running anything
        s.merge(
            ClockState(id=1, offset_us=int(timedelta(days=31 * TERM + 2).total_seconds() * 1e6))
        )
    total = BORROWERS * LOANS_EACH * TERM
    assert total >= 200  # hundreds

    barrier = threading.Barrier(2)
    ran: list[list[int]] = [[], []]
    errors: list[BaseException] = []
    workers = [
        threading.Thread(target=_sweep, args=(database_url, barrier, ran[i], errors))
        for i in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert not any(w.is_alive() for w in workers)
    assert errors == []
    assert sum(map(sum, ran)) == total  # each timer ran once, none failed and none is left

    with ctx.db.read() as s:
        left = select(func.count()).where(timers.Timer.kind.in_(KINDS))
        assert s.scalar(left) == 0
        states = dict(
            s.execute(select(Instalment.state, func.count()).group_by(Instalment.state)).all()
        )
        assert states == {"paid": total}
        posted = s.scalar(select(func.count()).where(ledger.Posting.label == loans.REPAYMENT))
        assert posted == total
        distinct = s.scalar(select(func.count(func.distinct(Instalment.posting_id))))
        assert distinct == total
        assert set(s.scalars(select(Loan.state))) == {"repaid"}
        end = ledger.balance_of(s, lender_wallet.ledger_account_id).balance
        assert end - start == expected
        assert ledger.verify(s) == []


def _race(url: str, jobs: list[Any]) -> list[Any]:
    """Run each job(session) at once in its own thread, engine and transaction; their results."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        db = Database(url, pool_size=1)
        try:
            barrier.wait()
            results[i] = db.transaction(jobs[i])
        except Exception as exc:  # a refusal is a result here
            results[i] = exc
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_racing_lenders_and_collectors_move_money_once(ctx: AppContext, database_url: str) -> None:
    with ctx.db.write() as s:
        now = ctx.now(s)
        lenders = [make_user(s, f"l{n}@example.com", now, verified=False).id for n in range(3)]
        for uid in lenders:
            banking.deposit(s, user_id=uid, currency="EUR", amount=10**6, now=now)
        borrower = make_user(s, "b@example.com", now).id
        banking.deposit(s, user_id=borrower, currency="EUR", amount=10**6, now=now)
        loan_id = loans.create_request(
            s,
            user_id=borrower,
            amount=AMOUNT,
            currency="EUR",
            term=TERM,
            rate_bp=1200,
            collateral=None,
            now=now,
        ).id

    def funder(uid: int) -> Any:
        return lambda s: loans.fund(s, user_id=uid, loan_id=loan_id, account_id=None, now=now).id

    funded = _race(database_url, [funder(uid) for uid in lenders])
    assert funded.count(loan_id) == 1
    refusals = [r for r in funded if r != loan_id]
    assert all(isinstance(r, loans.LoanError) for r in refusals)
    assert {r.message for r in refusals} == {"Loan is not open for funding"}
    with ctx.db.write() as s:
        assert loans.disburse(s, loan_id=loan_id, now=now)
        first = loans.instalments(s, loan_id)[0]
    later = first.due_at + timedelta(seconds=1)

    def repay(s: Session) -> str:
        return loans_collect.repay(s, user_id=borrower, loan_id=loan_id, now=later).ref

    def sweep(s: Session) -> str:
        return loans_collect.collect_due(s, instalment_id=first.id, now=later)

    outcome = _race(database_url, [repay, sweep, sweep])
    with ctx.db.read() as s:
        by_number = select(Instalment.posting_id).order_by(Instalment.number)
        posted = s.scalars(by_number.where(Instalment.loan_id == loan_id)).all()
        repayments = s.scalar(select(func.count()).where(ledger.Posting.label == loans.REPAYMENT))
        holds = s.scalar(select(func.count()).where(ledger.Hold.label == "Loan funding"))
        assert ledger.verify(s) == []
    # the repay paid the first or (if a sweep was first) the second instalment; never twice
    assert repayments == sum(1 for p in posted if p is not None)
    assert repayments in (1, 2) and holds == 1
    assert outcome[1:] == ["paid", "paid"]  # both sweeps see it paid, by whoever came first
    assert posted[0] is not None
