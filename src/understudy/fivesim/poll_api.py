"""The routes clients poll every few seconds, matched before every other route of the app."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from understudy.context import ContextDep
from understudy.fivesim import errors as e
from understudy.fivesim import orders, service
from understudy.fivesim.api import order_id_of, read_order, run, user_action
from understudy.fivesim.errors import FivesimError
from understudy.fivesim.models import Order, User
from understudy.fivesim.wire import OBJECT, ORDER_SCHEMA, JSONBody, inbox_body, responses

router = APIRouter(prefix="/v1", default_response_class=JSONBody)


@router.get("/user/check/{id}", responses=responses(ORDER_SCHEMA, 404))
async def check(request: Request, ctx: ContextDep, id: str) -> Response:
    """The order with its SMS (expiry applied first)."""
    return await user_action(ctx, request, id, "check")


@router.get("/user/sms/inbox/{id}", responses=responses(OBJECT, 404))
async def inbox(request: Request, ctx: ContextDep, id: str) -> Response:
    """The SMS received by an order."""

    def render(session: Session, order: Order) -> dict[str, Any]:
        return inbox_body(service.sms_by_order(session, order_ids=[order.id])[order.id])

    fast = await read_order(ctx, request, id, render, "inbox")
    if fast is not None:
        return fast

    def work(session: Session, user: User) -> dict[str, Any]:
        try:
            order = orders.get(
                session, user_id=user.id, order_id=order_id_of(id), now=ctx.now(session)
            )
        except FivesimError:
            raise FivesimError(e.ORDER_NOT_FOUND, 404) from None
        return render(session, order)

    return await run(ctx, request, work)
