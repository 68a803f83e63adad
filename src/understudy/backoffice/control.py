"""Operator and sandbox calls under /_understudy/backoffice (admin token)."""

from __future__ import annotations

from typing import Literal, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from understudy.backoffice import content, keys, operations, service, wallets
from understudy.context import ContextDep
from understudy.control.auth import AdminDep, ControlError, StatusBody
from understudy.control.body import body_doc
from understudy.core import ledger
from understudy.core.db import is_id
from understudy.core.money import InvalidAmount, to_minor

control_router = APIRouter()
M = TypeVar("M", bound=BaseModel)


async def parse(request: Request, model: type[M]) -> M:
    """The JSON body as `model`, read only after the admin token was checked."""
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ControlError(f"{where}: {first['msg']}" if where else first["msg"], 400) from None


class KeyBody(BaseModel):
    """An API key."""

    key: str


class MemberSettingBody(BaseModel):
    """A member's per-member setting."""

    username: str
    request_token_on_edit: bool


@control_router.post("/api-keys", response_model=KeyBody)
async def create_api_key(ctx: ContextDep, _: AdminDep) -> KeyBody:
    """Issue a new API key (shown once)."""

    def work(session: Session) -> str:
        return keys.create_key(session, label="control plane", now=ctx.now(session))[1]

    return KeyBody(key=await to_thread.run_sync(ctx.db.transaction, work))


@control_router.delete("/api-keys", response_model=StatusBody, openapi_extra=body_doc(KeyBody))
async def revoke_api_key(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Revoke an API key; later requests with it fail like a wrong key."""
    body = await parse(request, KeyBody)
    _no_nul(body.key)

    def work(session: Session) -> bool:
        return keys.revoke_key(session, key=body.key.strip(), now=ctx.now(session))

    if not await to_thread.run_sync(ctx.db.transaction, work):
        raise ControlError("unknown or already revoked API key", 400)
    return StatusBody()


@control_router.post(
    "/settings", response_model=StatusBody, openapi_extra=body_doc(MemberSettingBody)
)
async def member_settings(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Set whether the member must give a mailed security token to edit the profile."""
    body = await parse(request, MemberSettingBody)
    _no_nul(body.username)

    def work(session: Session) -> bool:
        found = service.set_request_token_on_edit(
            session, username=body.username.strip(), value=body.request_token_on_edit
        )
        return found is not None

    if not await to_thread.run_sync(ctx.db.transaction, work):
        raise ControlError(f"no member {body.username!r}", 400)
    return StatusBody()


class CreditBody(BaseModel):
    """A signed operator movement on a member's wallet."""

    username: str
    wallet_id: int
    amount: str | float | int
    description: str


@control_router.post("/credit", response_model=StatusBody, openapi_extra=body_doc(CreditBody))
async def credit(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Write a signed row (e.g. a 10000.0 top-up of the purchase wallet) to a member's wallet."""
    body = await parse(request, CreditBody)
    if body.wallet_id not in wallets.WALLET_IDS:
        raise ControlError("wallet_id must be 1 to 5", 400)
    try:
        amount = to_minor(body.amount, wallets.CURRENCY)
    except InvalidAmount as exc:
        raise ControlError(f"invalid amount: {exc}", 400) from None
    if not body.description.strip() or "\x00" in body.description + body.username:
        raise ControlError("description must not be blank", 400)

    def work(session: Session) -> bool:
        entry = service.credit(
            session,
            username=body.username.strip(),
            wallet_id=body.wallet_id,
            amount=amount,
            description=body.description,
            now=ctx.now(session),
        )
        return entry is not None

    try:
        done = await to_thread.run_sync(ctx.db.transaction, work)
    except ledger.InsufficientFunds:
        raise ControlError("the wallet's balance is too low for that debit", 400) from None
    if not done:
        raise ControlError(f"no member {body.username!r}", 400)
    return StatusBody()


class PlacementBody(BaseModel):
    """Where the sponsor puts a member waiting in the holding tank."""

    username: str
    leg: Literal["left", "right"]


@control_router.post(
    "/placements", response_model=StatusBody, openapi_extra=body_doc(PlacementBody)
)
async def placement(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Place a tanked member (permanently) at the bottom of the sponsor's left or right line."""
    body = await parse(request, PlacementBody)
    _no_nul(body.username)

    def work(session: Session) -> str | None:
        return service.place_tanked(
            session, username=body.username.strip(), leg=body.leg, now=ctx.now(session)
        )

    problem = await to_thread.run_sync(ctx.db.transaction, work)
    if problem:
        raise ControlError(problem, 400)
    return StatusBody()


class NoticeBody(BaseModel):
    """A notice for everyone, one member (`username`) or one plan's holders (`plan`)."""

    title: str
    content: str
    username: str | None = None
    plan: str | None = None


@control_router.post("/notices", response_model=StatusBody, openapi_extra=body_doc(NoticeBody))
async def add_notice(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Publish a notice."""
    body = await parse(request, NoticeBody)
    _no_nul(body.title, body.content, body.username or "", body.plan or "")

    def work(session: Session) -> str | None:
        return content.add_notice(
            session,
            title=body.title,
            content=body.content,
            username=body.username,
            plan=body.plan,
        )

    problem = await to_thread.run_sync(ctx.db.transaction, work)
    if problem:
        raise ControlError(problem, 400)
    return StatusBody()


class ResourceBody(BaseModel):
    """A downloadable resource."""

    category_id: int
    title: str
    description: str
    video: str | None = None
    file_url: str | None = None


@control_router.post("/resources", response_model=StatusBody, openapi_extra=body_doc(ResourceBody))
async def add_resource(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Publish a resource in a category."""
    body = await parse(request, ResourceBody)
    _no_nul(body.title, body.description, body.video or "", body.file_url or "")
    if not is_id(body.category_id):
        raise ControlError(f"no category {body.category_id}", 400)

    def work(session: Session) -> str | None:
        return content.add_resource(
            session,
            category_id=body.category_id,
            title=body.title,
            description=body.description,
            video=body.video or "",
            file=body.file_url or "",
        )

    problem = await to_thread.run_sync(ctx.db.transaction, work)
    if problem:
        raise ControlError(problem, 400)
    return StatusBody()


def _no_nul(*texts: str) -> None:
    if any("\x00" in text for text in texts):
        raise ControlError("text must not contain NUL characters", 400)


class PurchaseBody(BaseModel):
    """A plan bought for a member (the sponsor pays)."""

    username: str
    plan: str


@control_router.post("/purchases", response_model=StatusBody, openapi_extra=body_doc(PurchaseBody))
async def purchase(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Buy or upgrade a member's plan, paying the bonuses it earns."""
    body = await parse(request, PurchaseBody)
    _no_nul(body.username, body.plan)

    def work(session: Session) -> str | None:
        return operations.buy_plan(
            session, username=body.username, plan=body.plan, now=ctx.now(session)
        )

    problem = await to_thread.run_sync(ctx.db.transaction, work)
    if problem:
        raise ControlError(problem, 400)
    return StatusBody()


class CashoutBody(BaseModel):
    """A cash-out request."""

    username: str
    wallet_id: int
    currency_id: int
    amount: str | float | int
    address: str


class CashoutCreated(BaseModel):
    """The new cash-out's id."""

    id: int


class CashoutStatusBody(BaseModel):
    """How an operator resolves a cash-out."""

    status: Literal["approved", "rejected"]


@control_router.post(
    "/cashouts", response_model=CashoutCreated, openapi_extra=body_doc(CashoutBody)
)
async def request_cashout(request: Request, ctx: ContextDep, _: AdminDep) -> CashoutCreated:
    """Request a cash-out: the wallet is debited at once (`Cashout - <currency>`)."""
    body = await parse(request, CashoutBody)
    _no_nul(body.username, body.address)
    try:
        amount = to_minor(body.amount, wallets.CURRENCY)
    except InvalidAmount as exc:
        raise ControlError(f"invalid amount: {exc}", 400) from None

    def work(session: Session) -> tuple[int | None, str | None]:
        return operations.request_cashout(
            session,
            username=body.username,
            wallet_id=body.wallet_id,
            currency_id=body.currency_id,
            amount=amount,
            address=body.address,
            now=ctx.now(session),
        )

    found, problem = await to_thread.run_sync(ctx.db.transaction, work)
    if problem or found is None:
        raise ControlError(problem or "refused", 400)
    return CashoutCreated(id=found)


@control_router.post(
    "/cashouts/{cashout_id}",
    response_model=StatusBody,
    openapi_extra=body_doc(CashoutStatusBody),
)
async def resolve_cashout(
    cashout_id: int, request: Request, ctx: ContextDep, _: AdminDep
) -> StatusBody:
    """Approve, or reject (crediting `Cashout Rejected - <currency>`), a pending cash-out once."""
    body = await parse(request, CashoutStatusBody)
    if not is_id(cashout_id):
        raise ControlError(f"no pending cash-out {cashout_id}", 400)

    def work(session: Session) -> str | None:
        return operations.resolve_cashout(
            session, cashout_id=cashout_id, status=body.status, now=ctx.now(session)
        )

    problem = await to_thread.run_sync(ctx.db.transaction, work)
    if problem:
        raise ControlError(problem, 400)
    return StatusBody()


class TicketStatusBody(BaseModel):
    """A ticket's new status."""

    status: Literal["New", "In Progress", "Closed"]


@control_router.post(
    "/tickets/{ticket_id}", response_model=StatusBody, openapi_extra=body_doc(TicketStatusBody)
)
async def ticket_status(
    ticket_id: int, request: Request, ctx: ContextDep, _: AdminDep
) -> StatusBody:
    """Move a support ticket to `New`, `In Progress` or `Closed`."""
    body = await parse(request, TicketStatusBody)

    def work(session: Session) -> str | None:
        return content.set_ticket_status(session, ticket_id=ticket_id, status=body.status)

    problem = await to_thread.run_sync(ctx.db.transaction, work)
    if problem:
        raise ControlError(problem, 400)
    return StatusBody()
