"""API keys: issued by operators, stored as SHA-256 digests with a display prefix."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.backoffice.models import ApiKey
from understudy.core.db import is_id

PREFIX_LENGTH = 8


def digest(key: str) -> str:
    """The stored form of a key (keys are random, so a fast hash suffices)."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, *, label: str = "", now: datetime) -> tuple[ApiKey, str]:
    """Issue a new key; returns the row and the key itself (shown once)."""
    key = secrets.token_hex(20)
    row = ApiKey(digest=digest(key), prefix=key[:PREFIX_LENGTH], label=label, created_at=now)
    session.add(row)
    session.flush()
    return row, key


def list_keys(session: Session) -> list[ApiKey]:
    """Every key ever issued, by id."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(
    session: Session, *, key: str | None = None, key_id: int | None = None, now: datetime
) -> bool:
    """Revoke a key given by value or id; returns whether an active key was revoked."""
    stmt = select(ApiKey).where(ApiKey.revoked_at.is_(None))
    if key is not None:
        stmt = stmt.where(ApiKey.digest == digest(key))
    elif is_id(key_id):
        stmt = stmt.where(ApiKey.id == key_id)
    else:
        return False
    row = session.scalar(stmt)
    if row is None:
        return False
    row.revoked_at = now
    return True


def is_valid(session: Session, *, key: str) -> bool:
    """Whether the key was issued and is not revoked."""
    found = session.scalar(
        select(ApiKey.id).where(ApiKey.digest == digest(key), ApiKey.revoked_at.is_(None))
    )
    return found is not None
