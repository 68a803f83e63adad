"""KYC states (contract §4.4): uploads make items pending; operators verify or reject."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.nebeus.models import Verification, VerificationDocument

DOCUMENT_ITEMS = ("identity", "address")
ITEMS = (*DOCUMENT_ITEMS, "phone")
STATES = ("not_verified", "pending", "verified", "rejected")
MAX_DOCUMENT = 10 * 1024 * 1024
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


class KycError(Exception):
    """A refused KYC step, with the parameter it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def status(session: Session, *, user_id: int, item: str) -> str:
    """The item's state (phone: "verified" or "not_verified")."""
    row = session.scalar(
        select(Verification).where(Verification.user_id == user_id, Verification.item == item)
    )
    return row.status if row else "not_verified"


def _set(
    session: Session,
    *,
    user_id: int,
    item: str,
    state: str,
    now: datetime,
    value: str | None = None,
) -> None:
    row = session.scalar(
        select(Verification).where(Verification.user_id == user_id, Verification.item == item)
    )
    if row is None:
        row = Verification(user_id=user_id, item=item, status=state, updated_at=now)
        session.add(row)
    row.status, row.updated_at = state, now
    if value is not None:
        row.value = value
    session.flush()


PHONE = re.compile(r"^\+[1-9]\d{5,14}$")


def normalise_phone(value: str) -> str:
    """`+` and digits (spaces, dashes and brackets dropped); raises KycError."""
    phone = re.sub(r"[\s\-()]", "", value)
    if not PHONE.match(phone):
        raise KycError("phone", "Phone is not valid")
    return phone


def verify_phone(session: Session, *, user_id: int, phone: str, now: datetime) -> None:
    """Mark the phone verified once its SMS code was confirmed."""
    _set(session, user_id=user_id, item="phone", state="verified", now=now, value=phone)


def decode_document(value: str) -> tuple[bytes, str]:
    """Base64 (optionally a data: URL) to bytes and their type; raises KycError."""
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    if len(text) > MAX_DOCUMENT * 4 // 3 + 8:
        raise KycError("document", "Document is too large")
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KycError("document", "Document is not valid") from None
    if len(content) > MAX_DOCUMENT:
        raise KycError("document", "Document is too large")
    for magic, content_type in SIGNATURES.items():
        if content.startswith(magic):
            return content, content_type
    raise KycError("document", "Document is not valid")


def upload(session: Session, *, user_id: int, item: str, document: str, now: datetime) -> None:
    """Store the scan and make the item pending (from not_verified or rejected)."""
    if item not in DOCUMENT_ITEMS:
        raise KycError("item", "Item is not valid")
    if status(session, user_id=user_id, item=item) not in ("not_verified", "rejected"):
        raise KycError("item", "Already verified")
    content, content_type = decode_document(document)
    session.add(
        VerificationDocument(
            user_id=user_id, item=item, content_type=content_type, content=content, uploaded_at=now
        )
    )
    _set(session, user_id=user_id, item=item, state="pending", now=now)


def operator_set(session: Session, *, user_id: int, item: str, state: str, now: datetime) -> None:
    """Set a KYC state as an operator: identity/address any state, phone verified/not_verified."""
    if item not in ITEMS:
        raise KycError("item", "item must be identity, address or phone")
    allowed = ("verified", "not_verified") if item == "phone" else STATES
    if state not in allowed:
        raise KycError("status", f"status must be one of {', '.join(allowed)}")
    _set(session, user_id=user_id, item=item, state=state, now=now)
