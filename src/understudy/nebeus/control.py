"""nebeus's sandbox control calls (/_understudy/nebeus/...)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel, StrictFloat, StrictInt, StringConstraints

from understudy.context import ContextDep
from understudy.control.auth import CONTROL_RESPONSES, AdminDep, ControlError, StatusBody
from understudy.control.body import body_doc, read_body
from understudy.core.money import InvalidAmount, to_decimal, to_minor
from understudy.nebeus import banking, identity, kyc

router = APIRouter(responses=CONTROL_RESPONSES)
# PostgreSQL text cannot hold NUL: refuse it as bad input rather than fail in a query.
StrictStr = Annotated[str, StringConstraints(strict=True, pattern=r"^[^\x00]*$")]


class DepositBody(BaseModel):
    """Credit a user's wallet from outside."""

    login: StrictStr
    currency: StrictStr
    amount: StrictInt | StrictFloat | StrictStr


class VerificationBody(BaseModel):
    """Set a KYC state as an operator would."""

    login: StrictStr
    item: StrictStr
    status: StrictStr


class RateBody(BaseModel):
    """Set a currency's market rate (units per EUR)."""

    currency: StrictStr
    rate: StrictInt | StrictFloat | StrictStr


@router.post("/deposit", response_model=StatusBody, openapi_extra=body_doc(DepositBody))
async def deposit(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Credit the user's account in that currency ("Deposit"), opening it if missing."""
    body = await read_body(request, DepositBody)
    if body.currency not in banking.SUPPORTED:
        raise ControlError("currency is not supported")
    try:
        amount = to_minor(body.amount, body.currency)
    except InvalidAmount:
        raise ControlError("amount is not valid") from None
    if amount <= 0:
        raise ControlError("amount must be positive")

    def work() -> None:
        with ctx.db.write() as session:
            user = identity.find_user_by_login(session, body.login)
            if user is None:
                raise ControlError("user not found")
            banking.deposit(
                session,
                user_id=user.id,
                currency=body.currency,
                amount=amount,
                now=ctx.now(session),
            )

    await to_thread.run_sync(work)
    return StatusBody()


@router.post("/rates", response_model=StatusBody, openapi_extra=body_doc(RateBody))
async def set_rate(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Set the market rate of a currency."""
    body = await read_body(request, RateBody)
    try:
        rate = to_decimal(body.rate)
    except InvalidAmount:
        raise ControlError("rate is not valid") from None
    if rate <= 0 or rate > Decimal("1e12") or rate.as_tuple().exponent < -12:  # type: ignore[operator]
        raise ControlError("rate must be positive, at most 1e12, with at most 12 decimals")

    def work() -> None:
        with ctx.db.write() as session:
            try:
                banking.set_rate(session, currency=body.currency, rate=rate)
            except banking.BankingError as exc:
                raise ControlError(exc.message) from None

    await to_thread.run_sync(work)
    return StatusBody()


@router.post("/verification", response_model=StatusBody, openapi_extra=body_doc(VerificationBody))
async def verification(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Set identity/address to any state, phone to verified/not_verified."""
    body = await read_body(request, VerificationBody)

    def work() -> None:
        with ctx.db.write() as session:
            user = identity.find_user_by_login(session, body.login)
            if user is None:
                raise ControlError("user not found")
            try:
                kyc.operator_set(
                    session,
                    user_id=user.id,
                    item=body.item,
                    state=body.status,
                    now=ctx.now(session),
                )
            except kyc.KycError as exc:
                raise ControlError(exc.message) from None

    await to_thread.run_sync(work)
    return StatusBody()
