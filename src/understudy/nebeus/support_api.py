"""KYC uploads and the helpdesk on the wire."""

from __future__ import annotations

from typing import Any

from understudy.nebeus import helpdesk, kyc
from understudy.nebeus.identity import EMAIL
from understudy.nebeus.jsonrpc import Call, field_error, route
from understudy.nebeus.params import text
from understudy.nebeus.two_step import CODE_PARAMS, confirm

STR = {"type": "string"}


@route(
    "/verification/upload/1.0/json",
    params={"item": {"type": "string", "enum": list(kyc.DOCUMENT_ITEMS)}, "document": STR},
    summary="Upload a KYC document",
)
def verification_upload(call: Call) -> dict[str, Any]:
    """Upload an ID scan (`identity`) or a bill/bank statement (`address`): item -> pending."""
    item = text(call.params, "item", label="Item")
    document = call.params.get("document")
    if item not in kyc.DOCUMENT_ITEMS:
        raise field_error("item", "Item is not valid")
    if not isinstance(document, str) or not document.strip():
        raise field_error("document", "Document should be specified")
    try:
        kyc.upload(call.db, user_id=call.uid, item=item, document=document.strip(), now=call.now)
    except kyc.KycError as exc:
        raise field_error(exc.field, exc.message) from None
    return {"status": "success"}


@route(
    "/verification/phone/1.0/json",
    params={"phone": STR} | CODE_PARAMS,
    summary="Verify a phone number (two-step, code by SMS)",
)
def verification_phone(call: Call) -> dict[str, Any]:
    """Send an SMS code to the phone; confirming it marks the phone verified."""
    raw = text(call.params, "phone", label="Phone")
    try:
        phone = kyc.normalise_phone(raw)
    except kyc.KycError as exc:
        raise field_error(exc.field, exc.message) from None
    answer = confirm(
        call, operation="verify_phone", values={"phone": phone}, method="sms", to=phone
    )
    if answer is not None:
        return answer
    kyc.verify_phone(call.db, user_id=call.uid, phone=phone, now=call.now)
    return {"status": "success"}


@route(
    "/helpdesk/message",
    auth=False,
    params={"login": STR, "name": STR, "message": STR},
    summary="Submit a support ticket",
)
def helpdesk_message(call: Call) -> dict[str, Any]:
    """Store a support ticket (and forward it to Zendesk when configured)."""
    email = text(call.params, "login", field="email", label="Email")
    if not EMAIL.match(email) or len(email) > 320:
        raise field_error("email", "Email is not valid")
    name = text(call.params, "name", label="Name")
    message = text(call.params, "message", label="Message")
    helpdesk.open_ticket(call.db, email=email, name=name, message=message, now=call.now)
    return {"status": "success"}
