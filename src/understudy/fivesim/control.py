"""fivesim's sandbox control calls: users, stock and incoming SMS (pinned interface), reserves,
and payouts to list and settle (approve or reject) without the console."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.context import ContextDep
from understudy.control.auth import AdminDep, ControlError, StatusBody
from understudy.control.body import body_doc, read_body
from understudy.core.db import MAX_ID, is_id
from understudy.core.money import InvalidAmount, major_number, to_minor
from understudy.fivesim import catalogue, orders, payouts, service, vendor
from understudy.fivesim.models import Payout

router = APIRouter()


# Strict enough that `demo@localhost` and `a@b.test` fail (contract §1.10).
EMAIL = re.compile(
    r"^[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?!test$|localhost$|invalid$|example$)[A-Za-z]{2,24}$"
)
SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
MAX_AMOUNT = Decimal("1000000000")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _minor(value: Decimal, what: str, *, positive: bool = False) -> int:
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT or (positive and value == 0):
        raise ControlError(f"{what} out of range")
    try:
        return to_minor(value, service.CURRENCY)
    except InvalidAmount:
        raise ControlError(f"{what} has more than 2 decimals") from None


class NewUser(BaseModel):
    """A user to create, with an optional initial top-up."""

    email: str = Field(max_length=254)
    balance: Decimal | None = None
    rating: Decimal | None = Field(default=None, ge=0, le=96)
    vendor: bool | str | None = None

    _checked = field_validator("email")(_no_nul)


class NewUserBody(BaseModel):
    """The created user's id and API token."""

    id: int
    token: str


class Stock(BaseModel):
    """A price to set and a stock level to reach."""

    country: str = Field(max_length=50)
    operator: str = Field(max_length=50)
    product: str = Field(max_length=50)
    count: int = Field(ge=0, le=10_000)
    price: Decimal


class Reserves(BaseModel):
    """New payout reserves per payment system (absent ones stay as they are)."""

    fkwallet: Decimal | None = None
    payeer: Decimal | None = None
    unitpay: Decimal | None = None


class IncomingSms(BaseModel):
    """An SMS arriving on an order's number."""

    order_id: int = Field(ge=1, le=MAX_ID)
    sender: str = Field(min_length=1, max_length=100)
    text: str = Field(max_length=2000)

    _checked = field_validator("sender", "text")(_no_nul)


@router.post("/users", response_model=NewUserBody, openapi_extra=body_doc(NewUser))
async def create_user(request: Request, ctx: ContextDep, _: AdminDep) -> NewUserBody:
    """Create a user; an initial balance is a `charge` from `admin` (+8 rating)."""
    body = await read_body(request, NewUser)
    if not EMAIL.match(body.email):
        raise ControlError("email is not a valid address")
    balance = _minor(body.balance, "balance") if body.balance is not None else 0
    vendor: str | None = None
    if body.vendor is True:
        vendor = body.email.split("@")[0]
    elif isinstance(body.vendor, str):
        vendor = _no_nul(body.vendor.strip())[:100] or None
        if vendor is None:
            raise ControlError("vendor must be true or a name")

    def work(session: Session) -> NewUserBody:
        if service.email_exists(session, email=body.email):
            raise ControlError("email already exists")
        rating = round(body.rating * 100) if body.rating is not None else None
        user, token = service.create_user(
            session,
            email=body.email,
            now=ctx.now(session),
            balance=balance,
            rating=rating,
            vendor=vendor,
        )
        return NewUserBody(id=user.id, token=token)

    return await to_thread.run_sync(ctx.db.transaction, work)


@router.post("/stock", response_model=StatusBody, openapi_extra=body_doc(Stock))
async def stock(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Set a price and add sandbox-vendor numbers until `count` are free for the product."""
    body = await read_body(request, Stock)
    for what, value in (("operator", body.operator), ("product", body.product)):
        if not SLUG.match(value) or value == orders.ANY:
            raise ControlError(f"{what} must be a lowercase name other than any")
    price = _minor(body.price, "price", positive=True)

    def work(session: Session) -> StatusBody:
        country = catalogue.country(session, name=body.country)
        if country is None:
            raise ControlError("unknown country")
        product = catalogue.product(session, name=body.product)
        if product is not None and product.category != catalogue.category_of(body.product):
            raise ControlError("product category mismatch")
        now = ctx.now(session)
        catalogue.set_stock(
            session,
            country=country,
            operator=body.operator,
            product_name=body.product,
            count=body.count,
            price=price,
            vendor_id=service.sandbox_vendor(session, now=now).id,
            now=now,
        )
        return StatusBody()

    return await to_thread.run_sync(ctx.db.transaction, work)


@router.post("/sms", response_model=StatusBody, openapi_extra=body_doc(IncomingSms))
async def sms(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Deliver an SMS to the order's number (PENDING becomes RECEIVED)."""
    body = await read_body(request, IncomingSms)

    def work(session: Session) -> StatusBody:
        delivered = orders.deliver_sms(
            session,
            order_id=body.order_id,
            sender=body.sender,
            text=body.text,
            now=ctx.now(session),
        )
        if delivered is None:
            raise ControlError("no active order with that id")
        return StatusBody()

    return await to_thread.run_sync(ctx.db.transaction, work)


@router.post("/reserves", response_model=StatusBody, openapi_extra=body_doc(Reserves))
async def set_reserves(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Set the payout reserves that /v1/vendor/wallets shows and withdrawals draw on."""
    body = await read_body(request, Reserves)
    amounts = {
        name: _minor(value, name) for name, value in body.model_dump().items() if value is not None
    }

    def work(session: Session) -> StatusBody:
        vendor.set_reserves(session, amounts=amounts)
        return StatusBody()

    return await to_thread.run_sync(ctx.db.transaction, work)


# --- payouts under review (fivesim.payouts; the console's decisions, without an operator) -------

PayoutState = Literal["pending", "approved", "rejected"]
DECISIONS = {"approve": payouts.approve, "reject": payouts.reject}


class Decision(BaseModel):
    """How to settle a pending payout."""

    decision: Literal["approve", "reject"]


class PayoutBody(BaseModel):
    """A vendor's payout: `fee` is the reserve it draws on, `amount` in RUB."""

    id: int
    state: PayoutState
    amount: int | float
    fee: str
    method: str
    receiver: str
    vendor_id: int


class DecidedBody(StatusBody):
    """The payout after the decision."""

    payout: PayoutBody


class PayoutsBody(BaseModel):
    """Payouts, oldest first."""

    payouts: list[PayoutBody]


def payout_body(payout: Payout) -> PayoutBody:
    """A payout as the control plane shows it."""
    return PayoutBody(
        id=payout.id,
        state=payout.state,  # type: ignore[arg-type]
        amount=major_number(payout.amount, service.CURRENCY),
        fee=payout.reserve,
        method=payout.method,
        receiver=payout.receiver,
        vendor_id=payout.user_id,
    )


def listed_payouts(session: Session, *, state: str | None) -> list[Payout]:
    """Every payout (or those in `state`), oldest first."""
    stmt = select(Payout).order_by(Payout.id)
    if state is not None:
        stmt = stmt.where(Payout.state == state)
    return list(session.scalars(stmt).all())


def decide_payout(session: Session, *, payout_id: int, decision: str, now: datetime) -> Payout:
    """Approve or reject a pending payout once, as no operator; LookupError/ValueError if not."""
    if not is_id(payout_id):
        raise LookupError(f"no payout {payout_id}")
    try:
        decided = DECISIONS[decision](session, payout_id=payout_id, operator_id=None, now=now)
    except payouts.PayoutNotFound:
        raise LookupError(f"no payout {payout_id}") from None
    except payouts.PayoutDecided as refused:
        raise ValueError(f"payout {payout_id} was already {refused.state}") from None
    return session.scalars(
        select(Payout).where(Payout.id == decided.id).execution_options(populate_existing=True)
    ).one()


@router.get("/payouts", response_model=PayoutsBody)
async def list_payouts(
    ctx: ContextDep,
    _: AdminDep,
    state: Annotated[PayoutState | None, Query(description="only payouts in this state")] = None,
) -> PayoutsBody:
    """Vendors' payouts (`POST /v1/vendor/withdraw`), oldest first."""

    def read() -> PayoutsBody:
        with ctx.db.read() as session:
            rows = listed_payouts(session, state=state)
            return PayoutsBody(payouts=[payout_body(p) for p in rows])

    return await to_thread.run_sync(read)


@router.post(
    "/payouts/{payout_id}",
    response_model=DecidedBody,
    openapi_extra=body_doc(Decision),
)
async def settle_payout(
    payout_id: int, request: Request, ctx: ContextDep, _: AdminDep
) -> DecidedBody:
    """Approve (the held earnings leave) or reject (earnings and reserve come back) once."""
    body = await read_body(request, Decision)

    def work(session: Session) -> DecidedBody:
        try:
            payout = decide_payout(
                session, payout_id=payout_id, decision=body.decision, now=ctx.now(session)
            )
        except (LookupError, ValueError) as exc:  # unknown or already decided: bad input
            raise ControlError(str(exc)) from None
        return DecidedBody(payout=payout_body(payout))

    return await to_thread.run_sync(ctx.db.transaction, work)
