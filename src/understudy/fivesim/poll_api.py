"""The routes clients poll every few seconds, matched before every other route of the app."""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.types import Scope

from understudy.context import AppContext, ContextDep
from understudy.fivesim import errors as e
from understudy.fivesim import limits, orders, service
from understudy.fivesim.api import answer_key, order_id_of, read_order, run, user_action
from understudy.fivesim.errors import FivesimError
from understudy.fivesim.models import Order, User
from understudy.fivesim.wire import (
    OBJECT,
    ORDER_SCHEMA,
    JSONBody,
    bearer_token,
    inbox_body,
    responses,
)
from understudy.shortcuts import Shortcut

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


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _cached(kind: str):  # type: ignore[no-untyped-def]
    """A shortcut answer: the poll's kept answer (see read_order), counted by the limits."""

    async def answer(ctx: AppContext, scope: Scope, match: re.Match[str]) -> Response | None:
        if not limits.can_count_inline(ctx.limiter):
            return None
        token = bearer_token(_header(scope, b"authorization"))
        key = answer_key(kind, token, match["id"])
        body = None if key is None else ctx.answers.get(key, time.time())
        if body is None:
            return None
        client = scope.get("client")
        refused = limits.inline_refusal(
            ctx.limiter, ip=client[0] if client else "unknown", path=scope["path"], token=token
        )
        return refused or Response(body, media_type=JSONBody.media_type)

    return answer


SHORTCUTS = (
    Shortcut(
        "GET", re.compile(r"/v1/user/check/(?P<id>[^/]+)"), "/v1/user/check/{id}", _cached("check")
    ),
    Shortcut(
        "GET",
        re.compile(r"/v1/user/sms/inbox/(?P<id>[^/]+)"),
        "/v1/user/sms/inbox/{id}",
        _cached("inbox"),
    ),
)
