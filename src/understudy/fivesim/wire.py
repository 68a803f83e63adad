"""fivesim's wire format: JSON without charset, request parsing, object rendering, OpenAPI docs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from understudy.core.clock import rfc3339
from understudy.core.money import InvalidAmount, major_number, to_minor
from understudy.fivesim.models import Order, Payment, Sms
from understudy.fivesim.service import CURRENCY

TRUE = {"1", "true"}
FALSE = {"0", "false"}


class JSONBody(Response):
    """A success body: exactly `application/json` (no charset), keys in insertion order."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def token_of(request: Request) -> str:
    """The API token from `Authorization: Bearer <token>` or the bare token."""
    return bearer_token(request.headers.get("authorization", ""))


def bearer_token(header: str) -> str:
    """The token of an Authorization header value: `Bearer <token>` or the bare token."""
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip()
    return header


def text(value: str | None) -> str | None:
    """A query value, with empty meaning absent."""
    return value if value else None


def flag(value: str | None) -> bool:
    """A boolean query value: 1/true/0/false; anything else is false."""
    return (value or "").strip().lower() in TRUE


def integer(value: str | None, default: int, *, low: int, high: int) -> int:
    """A whole-number query value within bounds, or the default."""
    try:
        number = int((value or "").strip())
    except ValueError:
        return default
    return max(low, min(high, number))


def money(value: str | None) -> int | None:
    """A money query value in minor units, or None when absent or invalid."""
    if not value:
        return None
    try:
        minor = to_minor(value.strip(), CURRENCY)
    except InvalidAmount:
        return None
    return minor if minor >= 0 else None


async def form(request: Request) -> dict[str, str]:
    """A JSON or form-encoded body as text fields (numbers may arrive as strings or numbers)."""
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    parsed: Any = None
    if kind != "application/x-www-form-urlencoded":
        try:
            parsed = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            parsed = None
    if parsed is None:
        try:
            parsed = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            parsed = {}
    if not isinstance(parsed, dict):
        return {}
    fields = {}
    for key, value in parsed.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float | str):
            fields[str(key)] = str(value)
    return fields


def amount(minor: int) -> int | float:
    """Minor units as the wire's JSON number."""
    return major_number(minor, CURRENCY)


def seconds(moment: datetime) -> str:
    """RFC 3339 in whole seconds (an SMS `date`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sms_body(sms: Sms, *, hosting: bool) -> dict[str, Any]:
    """One SMS inside an order."""
    body: dict[str, Any] = {"id": sms.id} if hosting else {}
    body.update(
        created_at=rfc3339(sms.created_at),
        date=seconds(sms.date),
        sender=sms.sender,
        text=sms.text,
        code=sms.code,
    )
    return body


def order_body(order: Order, sms: list[Sms], *, history: bool = False) -> dict[str, Any]:
    """An order in the full documented shape and key order."""
    hosting = order.category == "hosting"
    messages: list[dict[str, Any]] | None = [sms_body(s, hosting=hosting) for s in sms]
    if not sms and not history:
        messages = None
    return {
        "id": order.id,
        "phone": order.phone,
        "operator": order.operator,
        "product": order.product,
        "price": amount(order.price),
        "status": order.status,
        "expires": rfc3339(order.expires_at),
        "sms": messages,
        "created_at": rfc3339(order.created_at),
        "forwarding": order.forwarding,
        "forwarding_number": order.forwarding_number,
        "country": order.country,
    }


def payment_body(row: Payment) -> dict[str, Any]:
    """A payment-history row."""
    return {
        "ID": row.id,
        "TypeName": row.type_name,
        "ProviderName": row.provider_name,
        "Amount": amount(row.amount),
        "Balance": amount(row.balance),
        "CreatedAt": rfc3339(row.created_at),
    }


def inbox_body(sms: list[Sms]) -> dict[str, Any]:
    """The SMS inbox of an order."""
    return {
        "Data": [
            {
                "ID": s.id,
                "created_at": rfc3339(s.created_at),
                "date": seconds(s.date),
                "sender": s.sender,
                "text": s.text,
                "code": s.code,
                "is_wave": False,
                "wave_uuid": "",
            }
            for s in sms
        ],
        "Total": len(sms),
    }


# OpenAPI documentation of the answers.
_TIME = {"type": "string"}
SMS_SCHEMA = {
    "type": "object",
    "required": ["created_at", "date", "sender", "text", "code"],
    "properties": {
        "id": {"type": "integer"},
        "created_at": _TIME,
        "date": _TIME,
        "sender": {"type": "string"},
        "text": {"type": "string"},
        "code": {"type": "string"},
    },
}
ORDER_SCHEMA = {
    "type": "object",
    "required": [
        "id",
        "phone",
        "operator",
        "product",
        "price",
        "status",
        "expires",
        "sms",
        "created_at",
        "forwarding",
        "forwarding_number",
        "country",
    ],
    "properties": {
        "id": {"type": "integer"},
        "phone": {"type": "string"},
        "operator": {"type": "string"},
        "product": {"type": "string"},
        "price": {"type": "number"},
        "status": {
            "type": "string",
            "enum": ["PENDING", "RECEIVED", "CANCELED", "TIMEOUT", "FINISHED", "BANNED"],
        },
        "expires": _TIME,
        "sms": {"anyOf": [{"type": "array", "items": SMS_SCHEMA}, {"type": "null"}]},
        "created_at": _TIME,
        "forwarding": {"type": "boolean"},
        "forwarding_number": {"type": "string"},
        "country": {"type": "string"},
    },
}
OBJECT = {"type": "object"}
MAX_PRICE_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "product", "price", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "product": {"type": "string"},
            "price": {"type": "number"},
            "created_at": {"type": "string"},
        },
    },
}


def query_doc(descriptions: dict[str, str]) -> dict[str, Any]:
    """OpenAPI of optional string query parameters a route reads itself (empty = absent)."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": text,
                "schema": {"type": "string"},
            }
            for name, text in descriptions.items()
        ]
    }


def body_doc(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """OpenAPI request body accepted as JSON or form fields."""
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
    }


_ERROR = {"content": {"text/plain": {"schema": {"type": "string"}}}}


def responses(ok: dict[str, Any], *errors: int, auth: bool = True) -> dict[int | str, Any]:
    """The documented answers of a route: JSON success, plain-text errors, empty 401."""
    docs: dict[int | str, Any] = {
        200: {"description": "Success", "content": {"application/json": {"schema": ok}}}
    }
    for status in errors:
        docs[status] = {"description": "Documented plain-text error", **_ERROR}
    docs[503] = {"description": "Per-IP request limit", **_ERROR}
    if auth:
        docs[401] = {"description": "Missing or unknown token (empty body)"}
        docs[429] = {"description": "Per-key request limit", **_ERROR}
    return docs
