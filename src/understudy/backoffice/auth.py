"""The auth chain of every endpoint: x-api-key, then the jwt-token, with ruby-jwt's messages."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

import jwt
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from understudy.backoffice import keys
from understudy.backoffice.errors import error
from understudy.backoffice.models import Member
from understudy.backoffice.settings import get_settings
from understudy.core.db import parse_id, row_by_id
from understudy.core.instance import get_or_create_secret

JWT_SECRET_NAME = "backoffice.jwt_secret"


# Per engine: the stored key never changes once created (resets keep instance secrets).
_stored_keys: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()


def jwt_secret(session: Session) -> str:
    """The signing key: the setting, else one generated once and shared by every worker."""
    configured = get_settings().jwt_secret
    if configured:
        return configured
    engine = session.get_bind()
    known = _stored_keys.get(engine)  # type: ignore[arg-type]
    if known is not None:
        return known
    value, created = get_or_create_secret(session, JWT_SECRET_NAME, lambda: secrets.token_hex(64))
    if not created:  # a committed row: safe to remember
        _stored_keys[engine] = value  # type: ignore[index]
    return value


def issue_token(session: Session, *, user_id: int, now: datetime) -> tuple[str, datetime]:
    """A ruby-jwt compatible HS256 token for the member and its expiry."""
    expires = now + timedelta(hours=get_settings().jwt_ttl_hours)
    token = jwt.encode(
        {"user_id": user_id, "exp": int(expires.timestamp())},
        jwt_secret(session),
        algorithm="HS256",
        headers={"typ": "JWT"},
        sort_headers=False,
    )
    return token, expires


def check_api_key(session: Session, *, key: str | None) -> None:
    """Step 1: a known, unrevoked x-api-key."""
    if key is None or not key.strip() or not keys.is_valid(session, key=key.strip()):
        raise error(403, "The API Key is not valid.")


def _segment(text: str) -> dict[str, object]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise error(401, "Invalid segment encoding") from None
    if not isinstance(value, dict):
        raise error(401, "Invalid segment encoding")
    return value


def authenticate(session: Session, *, token: str | None, now: datetime) -> Member:
    """Steps 2-8: decode and verify the jwt-token and load its member."""
    if token is None or not token.strip():
        raise error(403, "Nil JSON web token.")
    token = token.strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise error(401, "Not enough or too many segments")
    header = _segment(parts[0])
    payload = _segment(parts[1])
    if header.get("alg") != "HS256":
        raise error(401, "Expected a different algorithm")
    try:
        jwt.decode(
            token,
            jwt_secret(session),
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError:
        raise error(401, "Signature verification raised") from None
    except jwt.InvalidTokenError:
        raise error(401, "Invalid segment encoding") from None
    exp = payload.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= now.timestamp():
        raise error(401, "Signature has expired")
    return _member_of(session, payload)


def _member_of(session: Session, payload: dict[str, object]) -> Member:
    user_id = payload.get("user_id")
    if user_id is None or user_id == "":
        raise error(401, "Couldn't find User without an ID")
    member = None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        member = row_by_id(session, Member, user_id)
    elif isinstance(user_id, str):
        member = row_by_id(session, Member, parse_id(user_id))
    if member is None:
        shown = user_id if isinstance(user_id, str) else json.dumps(user_id)
        raise error(401, f"Couldn't find User with 'id'={shown}")
    return member
