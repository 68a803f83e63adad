"""Vendor routes: /user/vendor, /vendor/* and their aliases, plus the crypto top-up stubs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from understudy.context import ContextDep
from understudy.fivesim import errors as e
from understudy.fivesim import service, vendor
from understudy.fivesim.api import orders_page, profile_body, run
from understudy.fivesim.errors import FivesimError
from understudy.fivesim.models import User
from understudy.fivesim.wire import (
    OBJECT,
    JSONBody,
    amount,
    body_doc,
    flag,
    form,
    integer,
    money,
    payment_body,
    responses,
    text,
)

router = APIRouter(prefix="/v1", default_response_class=JSONBody)

WITHDRAW_BODY = body_doc(
    {
        "receiver": {"type": "string"},
        "method": {"type": "string", "enum": list(vendor.METHODS)},
        "amount": {"type": ["number", "string"]},
        "fee": {"type": "string", "enum": list(vendor.RESERVES)},
    },
    ["receiver", "method", "amount", "fee"],
)
NUMBERS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "phone": {"type": "string"},
                            "country": {"type": "string"},
                            "operator": {"type": "string"},
                        },
                        "required": ["phone", "country", "operator"],
                    },
                }
            }
        },
    }
}
SMS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "phone": {"type": "string"},
                        "sender": {"type": "string"},
                        "text": {"type": "string"},
                        "date": {"type": "string"},
                    },
                    "required": ["phone", "sender", "text"],
                }
            }
        },
    }
}


@router.get("/user/vendor", responses=responses(OBJECT))
async def vendor_profile(request: Request, ctx: ContextDep) -> Response:
    """The vendor's profile; `balance` is the withdrawable earnings."""
    return await run(ctx, request, lambda s, u: profile_body(ctx, s, u, vendor=True), vendor=True)


async def _wallets(request: Request, ctx: ContextDep) -> Response:
    def work(session: Session, _: User) -> dict[str, Any]:
        return {name: amount(value) for name, value in vendor.reserves(session).items()}

    return await run(ctx, request, work, vendor=True, write=False)


@router.get("/vendor/wallets", responses=responses(OBJECT))
async def wallets(request: Request, ctx: ContextDep) -> Response:
    """The payout reserves available per payment system."""
    return await _wallets(request, ctx)


@router.get("/user/wallets", responses=responses(OBJECT))
async def user_wallets(request: Request, ctx: ContextDep) -> Response:
    """Alias of /vendor/wallets."""
    return await _wallets(request, ctx)


@router.get("/vendor/orders", responses=responses(OBJECT))
async def vendor_orders(
    request: Request,
    ctx: ContextDep,
    category: str | None = Query(default=None),
    limit: str | None = Query(default=None),
    offset: str | None = Query(default=None),
    order: str | None = Query(default=None),
    reverse: str | None = Query(default=None),
) -> Response:
    """Orders placed on the vendor's numbers."""

    def work(session: Session, user: User) -> dict[str, Any]:
        return orders_page(
            session,
            user,
            category=category,
            limit=limit,
            offset=offset,
            order=order,
            reverse=reverse,
            vendor=True,
        )

    return await run(ctx, request, work, vendor=True, write=False)


@router.get("/vendor/payments", responses=responses(OBJECT))
async def vendor_payments(
    request: Request,
    ctx: ContextDep,
    limit: str | None = Query(default=None),
    offset: str | None = Query(default=None),
    order: str | None = Query(default=None),
    reverse: str | None = Query(default=None),
) -> Response:
    """The vendor's earnings and payouts."""

    def work(session: Session, user: User) -> dict[str, Any]:
        rows, total, types, providers = service.page_payments(
            session,
            user_id=user.id,
            limit=integer(limit, 100, low=1, high=1000),
            offset=integer(offset, 0, low=0, high=2**31),
            order=text(order) or "id",
            reverse=flag(reverse),
            vendor=True,
        )
        return {
            "Data": [payment_body(r) for r in rows],
            "PaymentProviders": [{"Name": n} for n in providers] or None,
            "PaymentStatuses": None,
            "PaymentTypes": [{"Name": n} for n in types] or None,
            "Total": total,
        }

    return await run(ctx, request, work, vendor=True, write=False)


async def _withdraw(request: Request, ctx: ContextDep) -> Response:
    fields = await form(request)

    def work(session: Session, user: User) -> dict[str, Any]:
        vendor.withdraw(
            session,
            user=user,
            method=fields.get("method", ""),
            amount=money(fields.get("amount")),
            fee=fields.get("fee", ""),
            now=ctx.now(session),
            receiver=fields.get("receiver", ""),
        )
        return {}

    return await run(ctx, request, work, vendor=True)


@router.post("/vendor/withdraw", responses=responses(OBJECT, 400), openapi_extra=WITHDRAW_BODY)
async def withdraw(request: Request, ctx: ContextDep) -> Response:
    """Ask for a payout (debits earnings and the chosen reserve; an operator reviews it)."""
    return await _withdraw(request, ctx)


@router.post("/user/withdraw", responses=responses(OBJECT, 400), openapi_extra=WITHDRAW_BODY)
async def user_withdraw(request: Request, ctx: ContextDep) -> Response:
    """Alias of /vendor/withdraw."""
    return await _withdraw(request, ctx)


async def _json(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None


def _field(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    return value if isinstance(value, str) else ""


@router.post(
    "/vendor/numbers",
    responses=responses(
        {
            "type": "object",
            "required": ["added", "skipped"],
            "properties": {"added": {"type": "integer"}, "skipped": {"type": "integer"}},
        },
        400,
    ),
    openapi_extra=NUMBERS_BODY,
)
async def add_numbers(request: Request, ctx: ContextDep) -> Response:
    """Offer numbers for sale: [{phone, country, operator}] -> {added, skipped}."""
    payload = await _json(request)

    def work(session: Session, user: User) -> dict[str, Any]:
        if not isinstance(payload, list) or not all(isinstance(i, dict) for i in payload):
            raise FivesimError(e.BAD_PHONE)
        numbers = [
            vendor.NewNumber(_field(i, "phone"), _field(i, "country"), _field(i, "operator"))
            for i in payload
        ]
        added, skipped = vendor.add_numbers(
            session, vendor_id=user.id, numbers=numbers, now=ctx.now(session)
        )
        return {"added": added, "skipped": skipped}

    return await run(ctx, request, work, vendor=True)


def _date(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.post(
    "/vendor/sms",
    responses=responses(
        {
            "type": "object",
            "required": ["order_id", "code"],
            "properties": {"order_id": {"type": "integer"}, "code": {"type": "string"}},
        },
        400,
        404,
    ),
    openapi_extra=SMS_BODY,
)
async def incoming_sms(request: Request, ctx: ContextDep) -> Response:
    """An SMS received on one of the vendor's numbers: appended to its active order."""
    payload = await _json(request)

    def work(session: Session, user: User) -> dict[str, Any]:
        item = payload if isinstance(payload, dict) else {}
        phone, sender, body = _field(item, "phone"), _field(item, "sender"), _field(item, "text")
        if not phone or "\x00" in sender + body + phone:
            raise FivesimError(e.BAD_PHONE)
        order, sms = vendor.incoming_sms(
            session,
            vendor_id=user.id,
            phone=phone,
            sender=sender[:100],
            text=body[:2000],
            date=_date(item.get("date")),
            now=ctx.now(session),
        )
        return {"order_id": order.id, "code": sms.code}

    return await run(ctx, request, work, vendor=True)


@router.get("/user/payment/crypto2/rates", responses=responses(OBJECT))
async def crypto2_rates(request: Request, ctx: ContextDep) -> Response:
    """Crypto top-up rates: none (no payment rails in this server)."""
    return await run(ctx, request, lambda s, u: {}, write=False)


@router.post("/user/payment/crypto2/invoice", responses=responses(OBJECT))
async def crypto2_invoice(request: Request, ctx: ContextDep) -> Response:
    """Crypto invoice: accepted, nothing moves (no payment rails)."""
    return await run(ctx, request, lambda s, u: {}, write=False)


@router.get("/user/payment/crypto/rates", responses=responses(OBJECT))
async def crypto_rates(request: Request, ctx: ContextDep) -> Response:
    """Legacy crypto rates: none."""
    return await run(ctx, request, lambda s, u: {}, write=False)


@router.get("/user/payment/crypto/getaddress", responses=responses(OBJECT))
async def crypto_address(request: Request, ctx: ContextDep) -> Response:
    """Legacy crypto deposit address: none."""
    return await run(ctx, request, lambda s, u: {}, write=False)
