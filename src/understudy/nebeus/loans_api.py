"""P2P loan routes on the wire (contract §9)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from understudy.core.money import InvalidAmount, major_number, to_decimal
from understudy.nebeus import banking, loans, loans_collect
from understudy.nebeus.jsonrpc import Call, Failure, error, field_error, route
from understudy.nebeus.loans_models import LOAN_STATES, Instalment, Loan
from understudy.nebeus.models import Country, Partner, User
from understudy.nebeus.params import (
    amount,
    as_int,
    blank,
    odoo_datetime,
    optional_int,
    required,
    text,
)

STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
ROLES = ("borrower", "lender")


def _settle(call: Call) -> None:
    """Apply the caller's due loan timers first (lazy); only then does the call write."""
    if loans_collect.due_for(call.db, user_id=call.uid, now=call.now):
        call.require_write()
        loans_collect.settle_due(call.db, user_id=call.uid, now=call.now)


def _refused(exc: loans.LoanError) -> Failure:
    return field_error(exc.field, exc.message) if exc.field else error(exc.message)


def _when(moment: Any) -> str | bool:
    return odoo_datetime(moment) if moment is not None else False


def partner_card(session: Session, partner: Partner) -> dict[str, Any]:
    """The dashboard's partner shape: name, surname, id, country_code."""
    country = session.get(Country, partner.country_id) if partner.country_id else None
    return {
        "surname": partner.surname,
        "name": partner.name,
        "id": partner.id,
        "country_code": country.code if country else False,
    }


def user_card(session: Session, user_id: int | None) -> dict[str, Any] | bool:
    """A user's partner shape, or false."""
    user = session.get(User, user_id) if user_id is not None else None
    partner = session.get(Partner, user.partner_id) if user is not None else None
    return partner_card(session, partner) if partner is not None else False


def rate_number(rate_bp: int) -> int | float:
    """Hundredths of a percent as a JSON number."""
    value = Decimal(rate_bp) / 100
    return int(value) if value == value.to_integral_value() else float(value)


def render_loan(session: Session, loan: Loan, *, with_instalments: bool = False) -> dict[str, Any]:
    """A loan as the wire shows it (`get` adds its instalments)."""
    borrower = loans.standing(session, user_id=loan.borrower_id)
    collateral: dict[str, Any] | bool = False
    if loan.collateral_amount is not None and loan.collateral_currency is not None:
        collateral = {
            "amount": major_number(loan.collateral_amount, loan.collateral_currency),
            "currency": loan.collateral_currency,
        }
    body: dict[str, Any] = {
        "id": loan.id,
        "state": loan.state,
        "amount": major_number(loan.amount, loan.currency),
        "currency": loan.currency,
        "term": loan.term,
        "interest_rate": rate_number(loan.rate_bp),
        "collateral": collateral,
        "borrower": user_card(session, loan.borrower_id),
        "lender": user_card(session, loan.lender_id),
        "borrower_rating": borrower.rating,
        "borrower_credit_rank": borrower.credit_rank,
        "create_date": odoo_datetime(loan.created_at),
        "funded_date": _when(loan.funded_at),
        "disbursement_date": _when(loan.disbursed_at),
        "outstanding": major_number(loans.outstanding(session, loan.id), loan.currency),
    }
    if with_instalments:
        body["instalments"] = [
            render_instalment(i, loan.currency) for i in loans.instalments(session, loan.id)
        ]
    return body


def render_instalment(inst: Instalment, currency: str) -> dict[str, Any]:
    """One instalment of a schedule."""
    return {
        "id": inst.ref,
        "number": inst.number,
        "date": odoo_datetime(inst.due_at),
        "principal": major_number(inst.principal, currency),
        "interest": major_number(inst.interest, currency),
        "amount": major_number(inst.amount, currency),
        "state": inst.state,
        "paid_date": _when(inst.paid_at),
    }


def _currency(params: dict[str, Any], name: str, label: str) -> str:
    value = text(params, name, label=label).upper()
    if value not in banking.SUPPORTED:
        raise field_error(name, "Currency is not supported")
    return value


def _loan_id(call: Call) -> int:
    value = as_int(required(call.params, "loan_id", label="Loan"))
    if value is None:
        raise field_error("loan_id", "Loan not found")
    return value


def _term(params: dict[str, Any]) -> int:
    term = as_int(required(params, "term", label="Term"))
    if term is None or not 1 <= term <= loans.MAX_TERM:
        raise field_error("term", "Term is not valid")
    return term


def _rate_bp(params: dict[str, Any]) -> int:
    value = params.get("interest_rate")
    if value is None or value is False or value == "":
        raise field_error("interest_rate", "Interest rate should be specified")
    try:
        rate = to_decimal(value) if not isinstance(value, (dict, list)) else None
    except InvalidAmount:
        rate = None
    if rate is None or not 0 <= rate <= 100 or rate != rate.quantize(Decimal("0.01")):
        raise field_error("interest_rate", "Interest rate is not valid")
    return int(rate * 100)


CREATE_PARAMS = {
    "amount": NUM,
    "currency": STR,
    "term": INT,
    "interest_rate": NUM,
    "collateral_amount": NUM,
    "collateral_currency": STR,
}


@route("/loans/request/create/1.0/json", params=CREATE_PARAMS, summary="Request a loan")
def create_request(call: Call) -> dict[str, Any]:
    """Open a loan request within the caller's cap; the collateral is held."""
    p = call.params
    required(p, "amount", label="Amount")
    currency = _currency(p, "currency", "Currency")
    minor = amount(p, "amount", currency=currency, label="Amount")
    term = _term(p)
    rate_bp = _rate_bp(p)
    collateral = None
    if not blank(p.get("collateral_amount")) or not blank(p.get("collateral_currency")):
        coll_currency = _currency(p, "collateral_currency", "Collateral currency")
        coll = amount(p, "collateral_amount", currency=coll_currency, label="Collateral amount")
        collateral = (coll, coll_currency)
    try:
        loan = loans.create_request(
            call.db,
            user_id=call.uid,
            amount=minor,
            currency=currency,
            term=term,
            rate_bp=rate_bp,
            collateral=collateral,
            now=call.now,
        )
    except loans.LoanError as exc:
        raise _refused(exc) from None
    return {"status": "success", "loan_id": loan.id}


@route(
    "/loans/requests/1.0/json",
    readonly=True,
    params={"currency": STR, "offset": INT, "limit": INT},
    summary="Other users' open loan requests",
)
def open_requests(call: Call) -> list[dict[str, Any]]:
    """Other users' open requests, oldest first."""
    p = call.params
    currency = None if blank(p.get("currency")) else _currency(p, "currency", "Currency")
    found = loans.open_requests(
        call.db,
        user_id=call.uid,
        currency=currency,
        offset=optional_int(p, "offset", default=0) or 0,
        limit=optional_int(p, "limit", default=None),
    )
    return [render_loan(call.db, loan) for loan in found]


@route(
    "/loans/1.0/json",
    readonly=True,
    params={"role": STR, "state": STR},
    summary="The caller's loans",
)
def my_loans(call: Call) -> list[dict[str, Any]]:
    """The caller's loans as borrower or lender (or both), newest first."""
    _settle(call)
    p = call.params
    role = None if blank(p.get("role")) else p.get("role")
    if role is not None and role not in ROLES:
        raise field_error("role", "Role is not valid")
    state = None if blank(p.get("state")) else p.get("state")
    if state is not None and state not in LOAN_STATES:
        raise field_error("state", "State is not valid")
    found = loans.loans_of(call.db, user_id=call.uid, role=role, state=state)
    return [render_loan(call.db, loan) for loan in found]


@route(
    "/loans/get/1.0/json",
    readonly=True,
    params={"loan_id": INT},
    summary="One loan with its schedule",
)
def get_loan(call: Call) -> dict[str, Any]:
    """A loan of which the caller is a party, with its instalments."""
    _settle(call)
    try:
        loan = loans.party_loan(call.db, user_id=call.uid, loan_id=_loan_id(call))
    except loans.LoanError as exc:
        raise _refused(exc) from None
    return render_loan(call.db, loan, with_instalments=True)


@route(
    "/loans/fund/1.0/json",
    params={"loan_id": INT, "account_id": INT},
    summary="Fund an open loan request",
)
def fund(call: Call) -> dict[str, Any]:
    """Hold the whole amount on the caller's wallet; disbursement follows at once by timer."""
    loan_id = _loan_id(call)
    account_id = None if blank(call.params.get("account_id")) else call.params["account_id"]
    try:
        loan = loans.fund(
            call.db, user_id=call.uid, loan_id=loan_id, account_id=account_id, now=call.now
        )
    except loans.LoanError as exc:
        raise _refused(exc) from None
    return {"status": "success", "loan_id": loan.id, "state": loan.state}


@route("/loans/cancel/1.0/json", params={"loan_id": INT}, summary="Cancel a request or funding")
def cancel(call: Call) -> dict[str, Any]:
    """Borrower: open → cancelled; lender: funded → open."""
    loan_id = _loan_id(call)
    try:
        loans.cancel(call.db, user_id=call.uid, loan_id=loan_id, now=call.now)
    except loans.LoanError as exc:
        raise _refused(exc) from None
    return {"status": "success"}


@route("/loans/repay/1.0/json", params={"loan_id": INT}, summary="Pay the oldest instalment now")
def repay(call: Call) -> dict[str, Any]:
    """The borrower pays the oldest unpaid instalment from the loan-currency wallet."""
    _settle(call)
    loan_id = _loan_id(call)
    try:
        inst = loans_collect.repay(call.db, user_id=call.uid, loan_id=loan_id, now=call.now)
    except loans.LoanError as exc:
        raise _refused(exc) from None
    return {"status": "success", "instalment_id": inst.ref}
