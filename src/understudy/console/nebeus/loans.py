"""Loans: the loan book with state, parties and amounts, and each loan's instalment schedule."""

from __future__ import annotations

from typing import Any

from sqladmin import expose
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased
from starlette.requests import Request
from starlette.responses import Response

from understudy.console.nebeus.common import money, people, when
from understudy.console.pages import ConsolePage, Pager, not_found, path_id
from understudy.core.db import parse_id
from understudy.nebeus import loans
from understudy.nebeus.loans_api import rate_number
from understudy.nebeus.loans_models import LOAN_STATES, Loan
from understudy.nebeus.models import User


def _filtered(query: Any, q: str, state: str) -> Any:
    if state:
        query = query.where(Loan.state == state)
    if q:
        borrower, lender = aliased(User), aliased(User)
        found = or_(
            borrower.login.icontains(q, autoescape=True), lender.login.icontains(q, autoescape=True)
        )
        if (ident := parse_id(q.lstrip("#"))) is not None:
            found = or_(found, Loan.id == ident)
        query = (
            query.join(borrower, borrower.id == Loan.borrower_id)
            .outerjoin(lender, lender.id == Loan.lender_id)
            .where(found)
        )
    return query


def loan_page(session: Session, pager: Pager, state: str) -> list[dict[str, Any]]:
    """Loans matching the query (a party's login or the loan id) and state, newest first."""
    pager.total = session.scalar(
        select(func.count()).select_from(_filtered(select(Loan.id), pager.q, state).subquery())
    )
    rows = list(
        session.scalars(
            _filtered(select(Loan), pager.q, state)
            .order_by(Loan.id.desc())
            .offset(pager.offset)
            .limit(pager.size)
        )
    )
    names = people(
        session, {r.borrower_id for r in rows} | {r.lender_id for r in rows if r.lender_id}
    )
    return [
        {
            "id": loan.id,
            "state": loan.state,
            "borrower": names.get(loan.borrower_id),
            "lender": names.get(loan.lender_id) if loan.lender_id else None,
            "amount": money(loan.amount, loan.currency),
            "currency": loan.currency,
            "term": loan.term,
            "rate": rate_number(loan.rate_bp),
            "created_at": when(loan.created_at),
        }
        for loan in rows
    ]


def loan_detail(session: Session, loan_id: int) -> dict[str, Any] | None:
    """A loan with its parties, collateral, outstanding amount and schedule (None if unknown)."""
    loan = loans.get_loan(session, loan_id)
    if loan is None:
        return None
    names = people(session, {loan.borrower_id} | ({loan.lender_id} if loan.lender_id else set()))
    collateral = ""
    if loan.collateral_amount is not None and loan.collateral_currency is not None:
        collateral = money(loan.collateral_amount, loan.collateral_currency)
    currency = loan.currency
    return {
        "id": loan.id,
        "state": loan.state,
        "borrower": names.get(loan.borrower_id),
        "lender": names.get(loan.lender_id) if loan.lender_id else None,
        "amount": money(loan.amount, currency),
        "currency": currency,
        "term": loan.term,
        "rate": rate_number(loan.rate_bp),
        "collateral": collateral,
        "outstanding": money(loans.outstanding(session, loan.id), currency),
        "created_at": when(loan.created_at),
        "funded_at": when(loan.funded_at),
        "disbursed_at": when(loan.disbursed_at),
        "closed_at": when(loan.closed_at),
        "schedule": [
            {
                "ref": i.ref,
                "number": i.number,
                "due_at": when(i.due_at),
                "principal": money(i.principal, currency),
                "interest": money(i.interest, currency),
                "amount": money(i.amount, currency),
                "state": i.state,
                "late_at": when(i.late_at),
                "paid_at": when(i.paid_at),
            }
            for i in loans.instalments(session, loan.id)
        ],
    }


class LoansPage(ConsolePage):
    """The loan list and loan pages."""

    name = "Loans"
    category = "nebeus"
    icon = "fa-solid fa-hand-holding-dollar"

    @expose("/nebeus/loans", methods=["GET"], identity="nebeus-loans")
    async def loan_list(self, request: Request) -> Response:
        """Loans by newest first, by state and a party's login."""
        pager = Pager(request)
        state = request.query_params.get("state", "")
        state = state if state in LOAN_STATES else ""
        rows = await self.read(request, lambda s: loan_page(s, pager, state))
        return await self.render(
            request,
            "console/nebeus/loans.html",
            rows=rows,
            pager=pager,
            state=state,
            states=LOAN_STATES,
            title="Loans",
            pretitle="nebeus",
        )

    @expose("/nebeus/loans/{loan_id:int}", methods=["GET"], identity="nebeus-loan")
    async def loan(self, request: Request) -> Response:
        """A loan and its instalment schedule."""
        loan_id = path_id(request, "loan_id", "loan")
        loan = await self.read(request, lambda s: loan_detail(s, loan_id))
        if loan is None:
            not_found("loan")
        return await self.render(
            request,
            "console/nebeus/loan.html",
            loan=loan,
            title=f"Loan #{loan_id}",
            pretitle="nebeus loan",
        )
