"""fivesim's public routes under /v1: parse the documented request, call the rules, render."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from understudy.context import AppContext, ContextDep
from understudy.core.clock import rfc3339
from understudy.core.db import parse_id
from understudy.fivesim import errors as e
from understudy.fivesim import orders, service
from understudy.fivesim.errors import FivesimError, plain
from understudy.fivesim.models import ACTIVE, Order, User
from understudy.fivesim.wire import (
    MAX_PRICE_SCHEMA,
    OBJECT,
    ORDER_SCHEMA,
    JSONBody,
    amount,
    body_doc,
    flag,
    form,
    integer,
    money,
    order_body,
    payment_body,
    query_doc,
    responses,
    text,
    token_of,
)

router = APIRouter(prefix="/v1", default_response_class=JSONBody)


class Unauthorized(Exception):
    """No or unknown token: 401 with an empty body."""


async def run(
    ctx: AppContext,
    request: Request | None,
    work: Callable[..., Any],
    *,
    vendor: bool = False,
    write: bool = True,
    inline: bool = True,
) -> Response:
    """Run work(session, user) (user None for guests) in one transaction and render the answer.

    With `vendor`, only a vendor's token is accepted; without `write`, a read-only transaction
    (SQLite serialises write transactions, even idle ones); without `inline`, in a worker
    thread even on SQLite (work that may take long).
    """

    def unit(session: Session) -> Any:
        user = None
        if request is not None:
            user = service.user_by_token(session, token=token_of(request))
            if user is None or (vendor and not user.vendor):
                raise Unauthorized
        return work(session, user)

    try:
        if write:
            body = await ctx.db.run_write(unit, inline=inline)
        else:
            body = await ctx.db.run_read(unit, inline=inline)
    except Unauthorized:
        return Response(status_code=401)
    except FivesimError as error:
        return plain(error.text, error.status)
    return body if isinstance(body, Response) else JSONBody(body)


def _valid_order_id(raw: str) -> int | None:
    """The order id in the path, or None when it cannot name an order."""
    return parse_id(raw) if raw == raw.strip() else None


def order_id_of(raw: str) -> int:
    """The order id in the path; `order not found` when it cannot name one."""
    order_id = _valid_order_id(raw)
    if order_id is None:
        raise FivesimError(e.ORDER_NOT_FOUND)
    return order_id


def _rendered(session: Session, order: Order) -> dict[str, Any]:
    return order_body(order, service.sms_by_order(session, order_ids=[order.id])[order.id])


# --- user ------------------------------------------------------------------------------------


def profile_body(
    ctx: AppContext, session: Session, user: User, *, vendor: bool = False
) -> dict[str, Any]:
    """The profile; for /user/vendor the balance is the vendor's earnings."""
    now = ctx.now(session)
    active = select(Order.id).where(Order.user_id == user.id, Order.status.in_(ACTIVE))
    for order_id in session.scalars(active).all():
        orders.get(session, user_id=user.id, order_id=order_id, now=now)
    orders.lift_block(user, now)
    p = service.profile(session, user=user)
    return {
        "id": user.id,
        "email": user.email,
        "vendor": user.vendor or "",
        "default_forwarding_number": user.default_forwarding_number,
        "balance": amount(
            service.vendor_balance(session, user_id=user.id) if vendor else p.money.balance
        ),
        "rating": amount(user.rating),
        "default_country": {
            "name": user.default_country,
            "iso": p.country.iso if p.country else "",
            "prefix": p.country.prefix if p.country else "",
        },
        "default_operator": {"name": user.default_operator},
        "frozen_balance": 0 if vendor else amount(p.money.frozen),
        "did_order": p.did_order,
        "last_order": p.last_order,
        "last_top_orders": p.last_top_orders,
        "last_top_idx": 0,
        "total_active_orders": p.total_active,
        "is_totp": False,
    }


@router.get("/user/profile", responses=responses(OBJECT))
async def profile(request: Request, ctx: ContextDep) -> Response:
    """Profile data: e-mail, balance, rating and live order statistics."""
    return await run(ctx, request, lambda s, u: profile_body(ctx, s, u))


def orders_page(
    session: Session,
    user: User,
    *,
    category: str | None,
    limit: str | None,
    offset: str | None,
    order: str | None,
    reverse: str | None,
    vendor: bool = False,
) -> dict[str, Any]:
    """One page of order history (the buyer's, or orders on the vendor's numbers)."""
    rows, total = service.page_orders(
        session,
        user_id=user.id,
        category="hosting" if text(category) == "hosting" else "activation",
        limit=integer(limit, 100, low=1, high=1000),
        offset=integer(offset, 0, low=0, high=2**31),
        order=text(order) or "id",
        reverse=flag(reverse),
        vendor=vendor,
    )
    sms = service.sms_by_order(session, order_ids=[r.id for r in rows])
    return {
        "Data": [order_body(r, sms[r.id], history=True) for r in rows],
        "ProductNames": [],
        "Statuses": [],
        "Total": total,
    }


@router.get("/user/orders", responses=responses(OBJECT))
async def order_history(
    request: Request,
    ctx: ContextDep,
    category: str | None = Query(default=None),
    limit: str | None = Query(default=None),
    offset: str | None = Query(default=None),
    order: str | None = Query(default=None),
    reverse: str | None = Query(default=None),
) -> Response:
    """Orders history of a category (activation by default)."""

    def work(session: Session, user: User) -> dict[str, Any]:
        return orders_page(
            session,
            user,
            category=category,
            limit=limit,
            offset=offset,
            order=order,
            reverse=reverse,
        )

    return await run(ctx, request, work, write=False)


@router.get("/user/payments", responses=responses(OBJECT))
async def payment_history(
    request: Request,
    ctx: ContextDep,
    limit: str | None = Query(default=None),
    offset: str | None = Query(default=None),
    order: str | None = Query(default=None),
    reverse: str | None = Query(default=None),
) -> Response:
    """Payments history."""

    def work(session: Session, user: User) -> dict[str, Any]:
        rows, total, types, providers = service.page_payments(
            session,
            user_id=user.id,
            limit=integer(limit, 100, low=1, high=1000),
            offset=integer(offset, 0, low=0, high=2**31),
            order=text(order) or "id",
            reverse=flag(reverse),
        )
        return {
            "Data": [payment_body(r) for r in rows],
            "PaymentTypes": [{"Name": n} for n in types] or None,
            "PaymentProviders": [{"Name": n} for n in providers] or None,
            "Total": total,
        }

    return await run(ctx, request, work, write=False)


MAX_PRICE_BODY = body_doc(
    {"product_name": {"type": "string"}, "price": {"type": ["number", "string"]}},
    ["product_name", "price"],
)
DELETE_MAX_PRICE_BODY = body_doc({"product_name": {"type": "string"}}, ["product_name"])


@router.get("/user/max-prices", responses=responses(MAX_PRICE_SCHEMA))
async def get_max_prices(request: Request, ctx: ContextDep) -> Response:
    """The user's price ceilings per product."""

    def work(session: Session, user: User) -> list[dict[str, Any]]:
        return [
            {
                "id": row.id,
                "product": row.product,
                "price": amount(row.price),
                "created_at": rfc3339(row.created_at),
            }
            for row in service.max_prices(session, user_id=user.id)
        ]

    return await run(ctx, request, work, write=False)


@router.post("/user/max-prices", responses=responses(OBJECT, 400), openapi_extra=MAX_PRICE_BODY)
async def post_max_price(request: Request, ctx: ContextDep) -> Response:
    """Create or update the ceiling of a product."""
    fields = await form(request)

    def work(session: Session, user: User) -> dict[str, Any]:
        product = (fields.get("product_name") or "").strip()
        if not product:
            raise FivesimError(e.PRODUCT_NAME_EMPTY)
        price = money(fields.get("price"))
        if price is None or price <= 0 or len(product) > 50:
            raise FivesimError(e.ANY_ERROR)
        service.set_max_price(
            session, user_id=user.id, product=product, price=price, now=ctx.now(session)
        )
        return {}

    return await run(ctx, request, work)


@router.delete(
    "/user/max-prices", responses=responses(OBJECT, 400), openapi_extra=DELETE_MAX_PRICE_BODY
)
async def delete_max_price(request: Request, ctx: ContextDep) -> Response:
    """Remove the ceiling of a product."""
    fields = await form(request)

    def work(session: Session, user: User) -> dict[str, Any]:
        product = (fields.get("product_name") or "").strip()
        if not product:
            raise FivesimError(e.PRODUCT_NAME_EMPTY)
        if not service.delete_max_price(session, user_id=user.id, product=product):
            raise FivesimError(e.RECORD_NOT_FOUND)
        return {}

    return await run(ctx, request, work)


BUY_ERRORS = responses(ORDER_SCHEMA, 400, 503)


async def _buy(ctx: AppContext, request: Request, req_category: str, **params: Any) -> Response:
    def work(session: Session, user: User) -> dict[str, Any]:
        order = orders.buy(
            session,
            user=user,
            request=orders.BuyRequest(category=req_category, **params),
            now=ctx.now(session),
        )
        return order_body(order, [])  # a new order has no SMS yet

    return await run(ctx, request, work)


BUY_QUERY = query_doc(
    {
        "forwarding": "1 (or true): forward calls to `number`",
        "number": "the number calls are forwarded to (with forwarding)",
        "reuse": "1: the number may be bought again later (/user/reuse)",
        "voice": "1: the order also receives voice calls",
        "ref": "referral key of a partner",
        "maxPrice": "highest price accepted, with operator `any` only",
    }
)


@router.get(
    "/user/buy/activation/{country}/{operator}/{product}",
    responses=BUY_ERRORS,
    openapi_extra=BUY_QUERY,
)
async def buy_activation(request: Request, country: str, operator: str, product: str) -> Response:
    """Buy an activation number ("any" country and operator allowed)."""
    # The options are read here rather than declared: buying is the busiest write, and
    # declared parameters cost a validation pass on every call.
    query = request.query_params
    return await _buy(
        request.app.state.ctx,
        request,
        "activation",
        country=country,
        operator=operator,
        product=product,
        forwarding=flag(query.get("forwarding")),
        number=text(query.get("number")),
        reuse=flag(query.get("reuse")),
        voice=flag(query.get("voice")),
        ref=(text(query.get("ref")) or "")[:100],
        max_price=money(query.get("maxPrice")),
    )


# Empty path segments (`buy/activation//any/x`) do not match the routes above; 5sim names them.
@router.get("/user/buy/{category}//{operator}/{product}", include_in_schema=False)
@router.get("/user/buy/{category}///{product}", include_in_schema=False)
async def buy_without_country(request: Request, ctx: ContextDep, category: str) -> Response:
    """`select country`."""
    return await run(ctx, request, lambda s, u: _refuse(e.SELECT_COUNTRY), write=False)


@router.get("/user/buy/{category}/{country}//{product}", include_in_schema=False)
async def buy_without_operator(request: Request, ctx: ContextDep, category: str) -> Response:
    """`select operator`."""
    return await run(ctx, request, lambda s, u: _refuse(e.SELECT_OPERATOR), write=False)


def _refuse(text: str) -> None:
    raise FivesimError(text)


@router.get("/user/buy/hosting/{country}/{operator}/{product}", responses=BUY_ERRORS)
async def buy_hosting(
    request: Request, ctx: ContextDep, country: str, operator: str, product: str
) -> Response:
    """Buy a hosting number (3hours, 1day, 10days, 1month)."""
    return await _buy(ctx, request, "hosting", country=country, operator=operator, product=product)


REUSE_DOC = responses(ORDER_SCHEMA, 400, 503)


async def _reuse(ctx: AppContext, request: Request, product: str, number: str) -> Response:
    def work(session: Session, user: User) -> dict[str, Any]:
        order = orders.reuse(
            session, user=user, product_name=product, number=number, now=ctx.now(session)
        )
        return order_body(order, [])  # a new order has no SMS yet

    return await run(ctx, request, work)


@router.get("/user/reuse/{product}/{number}", responses=REUSE_DOC)
async def reuse(request: Request, ctx: ContextDep, product: str, number: str) -> Response:
    """Buy again a number bought earlier with reuse=1."""
    return await _reuse(ctx, request, product, number)


@router.get("/user/buy/reuse/{product}/{number}", responses=REUSE_DOC)
async def buy_reuse(request: Request, ctx: ContextDep, product: str, number: str) -> Response:
    """Alias of /user/reuse/{product}/{number}."""
    return await _reuse(ctx, request, product, number)


def answer_key(kind: str, token: str, raw_id: str) -> tuple[str, str, int] | None:
    """Where a poll's answer is kept (kind, token hash, order id); None if it cannot be kept."""
    order_id = _valid_order_id(raw_id)
    if not token or order_id is None:
        return None
    return kind, service.hash_token(token), order_id


async def read_order(
    ctx: AppContext,
    request: Request,
    raw_id: str,
    render: Callable[[Session, Order], Any],
    kind: str,
) -> Response | None:
    """Render an order from a read-only transaction when none of its timers is due.

    Most checks are polls of an unchanged order: the answer is kept (ctx.answers) until anything
    is committed or the order's next timer is due. SQLite serialises write transactions, so
    only a poll with a due expiry or modem SMS to apply, or an error to answer, takes the write
    path (None).
    """
    key = answer_key(kind, token_of(request), raw_id)
    if key is None:
        return None
    _, token_hash, order_id = key
    cached = ctx.answers.get(key, time.time())
    if cached is not None:
        return Response(cached, media_type=JSONBody.media_type)
    read_at = ctx.answers.version()

    def unit(session: Session) -> Response | None:
        now = ctx.now(session)
        found = orders.poll(session, token_hash=token_hash, order_id=order_id, now=now)
        if found is None or found.due:
            return None
        answer = JSONBody(render(session, found.order))
        until = math.inf
        if found.next_due is not None:
            until = time.time() + (found.next_due - now).total_seconds()
        ctx.answers.put(key, answer.body, read_at=read_at, until=until)
        return answer

    return await ctx.db.run_read(unit)


async def user_action(ctx: AppContext, request: Request, raw_id: str, action: str) -> Response:
    """check, finish, cancel or ban the order named in the path, and render it."""
    if action == "check":
        fast = await read_order(ctx, request, raw_id, _rendered, action)
        if fast is not None:
            return fast

    def work(session: Session, user: User) -> dict[str, Any]:
        now = ctx.now(session)
        try:
            order_id = order_id_of(raw_id)
            if action == "check":
                order = orders.get(session, user_id=user.id, order_id=order_id, now=now)
            elif action == "finish":
                order = orders.finish(session, user_id=user.id, order_id=order_id, now=now)
            else:
                order = orders.cancel(
                    session, user_id=user.id, order_id=order_id, now=now, ban=action == "ban"
                )
        except FivesimError as error:
            if error.text == e.ORDER_NOT_FOUND and action == "check":
                raise FivesimError(e.ORDER_NOT_FOUND, 404) from None
            raise
        return _rendered(session, order)

    return await run(ctx, request, work)


@router.get("/user/finish/{id}", responses=responses(ORDER_SCHEMA, 400))
async def finish(request: Request, ctx: ContextDep, id: str) -> Response:
    """Finish an order that received its SMS."""
    return await user_action(ctx, request, id, "finish")


@router.get("/user/cancel/{id}", responses=responses(ORDER_SCHEMA, 400))
async def cancel(request: Request, ctx: ContextDep, id: str) -> Response:
    """Cancel an order that has no SMS (refund)."""
    return await user_action(ctx, request, id, "cancel")


@router.get("/user/ban/{id}", responses=responses(ORDER_SCHEMA, 400))
async def ban(request: Request, ctx: ContextDep, id: str) -> Response:
    """Report the number as banned (refund)."""
    return await user_action(ctx, request, id, "ban")
