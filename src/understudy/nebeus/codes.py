"""Two-step confirmation codes (contract §6): 6 digits, e-mailed, bound to user and params."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from understudy.core import mail
from understudy.core.db import is_id
from understudy.nebeus.models import ConfirmationCode

TTL = timedelta(seconds=300)
MAX_ATTEMPTS = 3


def digest(values: dict[str, Any]) -> str:
    """A stable fingerprint of an operation's normalised parameters."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _hash(code: str, salt: str) -> str:
    return salt + "$" + hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def issue(
    session: Session,
    *,
    user_id: int,
    to: str,
    operation: str,
    params_digest: str,
    method: str,
    now: datetime,
) -> ConfirmationCode:
    """Create a code (voiding older pending ones of this operation) and send it."""
    session.execute(
        update(ConfirmationCode)
        .where(
            ConfirmationCode.user_id == user_id,
            ConfirmationCode.operation == operation,
            ConfirmationCode.state == "pending",
        )
        .values(state="void")
    )
    code = f"{secrets.randbelow(10**6):06d}"
    row = ConfirmationCode(
        user_id=user_id,
        operation=operation,
        params_digest=params_digest,
        code_hash=_hash(code, secrets.token_hex(8)),
        method=method,
        created_at=now,
        expires_at=now + TTL,
        attempts=0,
        state="pending",
    )
    session.add(row)
    session.flush()
    # There is no SMS gateway: an SMS stays in the outbox addressed to the phone number, readable
    # through the control plane and never attempted over SMTP.
    sms = method == "sms"
    mail.queue_mail(
        session,
        to=to,
        subject="SMS: Nebeus confirmation code" if sms else "Nebeus confirmation code",
        body=f"Your confirmation code is {code}.\n\nIt is valid for 5 minutes.",
        now=now,
        smtp=not sms,
    )
    return row


def check(
    session: Session,
    *,
    user_id: int,
    code_id: int | None,
    code: str,
    operation: str,
    params_digest: str,
    now: datetime,
) -> tuple[str, str] | None:
    """Use the code once; None when it confirms the operation, else (field, message).

    A wrong code counts as an attempt; the caller commits so the count sticks. The row is
    locked (PostgreSQL) so concurrent tries of one code are counted one after another.
    """
    row = None
    if is_id(code_id):
        row = session.get(ConfirmationCode, code_id, with_for_update=True)
    if row is None or row.user_id != user_id or row.state == "used":
        return ("code_id", "Code not found")
    if row.operation != operation or row.params_digest != params_digest:
        return ("code_id", "Code does not match this operation")
    if row.state == "locked" or row.attempts >= MAX_ATTEMPTS:
        return ("code", "Too many attempts")
    if row.state == "void" or now >= row.expires_at:
        return ("code", "Code has expired")
    salt = row.code_hash.split("$", 1)[0]
    if not hmac.compare_digest(_hash(code, salt), row.code_hash):
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            row.state = "locked"
            return ("code", "Too many attempts")
        return ("code", "Code is incorrect")
    claimed = session.execute(
        update(ConfirmationCode)
        .where(ConfirmationCode.id == row.id, ConfirmationCode.state == "pending")
        .values(state="used")
    ).rowcount
    return None if claimed == 1 else ("code_id", "Code not found")


def pending_for(session: Session, *, user_id: int) -> list[ConfirmationCode]:
    """The user's pending codes (for tests and operators)."""
    return list(
        session.scalars(
            select(ConfirmationCode).where(
                ConfirmationCode.user_id == user_id, ConfirmationCode.state == "pending"
            )
        )
    )
