"""Member rules: login, profile edits, security tokens, wallets (sign-up: `signup`); no HTTP."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from understudy.backoffice import binary, images, wallets
from understudy.backoffice.errors import (
    error,
    form_errors,
    invalid_data,
    security_token_failed,
    user_not_found,
)
from understudy.backoffice.models import Member, SecurityToken
from understudy.backoffice.reference import LEG_IDS, country_codes
from understudy.backoffice.signup import (
    BLANK,
    EMAIL,
    MIN_PASSWORD,
    NOT_INCLUDED,
    TAKEN,
    TOO_SHORT,
    blank,
)
from understudy.backoffice.signup import SIGNUP_FIELDS as SIGNUP_FIELDS
from understudy.backoffice.signup import create_member as create_member
from understudy.backoffice.wire import Upload
from understudy.core.db import parse_id, row_by_id
from understudy.core.mail import queue_mail
from understudy.core.passwords import hash_password, verify_password

TOKEN_TTL = timedelta(hours=1)
BY_USERNAME = select(Member).where(Member.username_key == bindparam("key"))


def by_username(session: Session, username: str) -> Member | None:
    """The member with this username, ignoring case."""
    return session.scalar(BY_USERNAME, {"key": username.lower()})


def get_member(session: Session, *, user_id: str | int) -> Member:
    """The member with this id (given as in the URL), else the 404 User not found."""
    member = row_by_id(session, Member, parse_id(str(user_id)))
    if member is None:
        raise user_not_found()
    return member


def _email_taken(session: Session, email: str, *, other_than: int | None = None) -> bool:
    stmt = select(Member.id).where(Member.email_key == email.strip().lower())
    if other_than is not None:
        stmt = stmt.where(Member.id != other_than)
    return session.scalar(stmt.limit(1)) is not None


# --- login ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    """A member who proved their password."""

    member: Member
    sponsor: str | None


def login(session: Session, *, username: str | None, password: str | None) -> Login:
    """Check the username (any case) and password; 422 when blank, else one 401 answer."""
    missing = {
        name: [BLANK] for name, v in (("username", username), ("password", password)) if blank(v)
    }
    if missing:
        raise form_errors(422, missing)
    assert username is not None and password is not None
    member = by_username(session, username.strip())
    ok, rehashed = (False, None)
    if member is not None:
        ok, rehashed = verify_password(password, member.password_hash)
    if member is None or not ok:
        raise error(401, "Invalid username or password.")
    if rehashed:
        member.password_hash = rehashed
    sponsor = session.get(Member, member.sponsor_id) if member.sponsor_id else None
    return Login(member=member, sponsor=sponsor.username if sponsor else None)


def hash_if_acceptable(password: str | None) -> str | None:
    """The password's hash when a sign-up would accept it (else None: the sign-up refuses it)."""
    if password is None or blank(password) or len(password) < MIN_PASSWORD:
        return None
    return hash_password(password)


# --- profile edits -------------------------------------------------------------------------------

EDITABLE_REQUIRED = ("first_name", "last_name", "email", "mobile", "country_code")


def update_member(
    session: Session,
    *,
    user_id: str,
    fields: dict[str, str | None],
    token: str | None,
    now: datetime,
    image: Upload | None = None,
) -> Member:
    """Apply a partial profile edit, checking the security token first when the member needs one."""
    member = get_member(session, user_id=user_id)
    claimed: SecurityToken | None = None
    if member.request_token_on_edit:
        claimed = _valid_token(session, member_id=member.id, token=token, now=now)
        if claimed is None:
            raise security_token_failed()
    email = fields.get("email")
    country = fields.get("country_code")
    leg = fields.get("default_leg")
    password = fields.get("password")
    found: dict[str, list[str]] = {}
    for name in EDITABLE_REQUIRED:
        if name in fields and blank(fields[name]):
            found[name] = [BLANK]
    if email is not None and not blank(email):
        email = email.strip()
        if _email_taken(session, email, other_than=member.id):
            found.setdefault("email", []).append(TAKEN)
        if not EMAIL.fullmatch(email):
            found.setdefault("email", []).append("is invalid")
    if country is not None and not blank(country) and country.strip() not in country_codes():
        found["country_code"] = [NOT_INCLUDED]
    if leg is not None and leg.strip() not in LEG_IDS:
        found["default_leg"] = [NOT_INCLUDED]
    if password is not None and not blank(password) and len(password) < MIN_PASSWORD:
        found["password"] = [TOO_SHORT]
    kind = None
    if image is not None:
        problem, kind = images.check(image)
        if problem:
            found["profile_image"] = [problem]
    order = (*EDITABLE_REQUIRED, "default_leg", "password", "profile_image")
    details = {name: found[name] for name in order if name in found}
    if details:
        raise invalid_data(details)
    for name in ("first_name", "last_name", "mobile", "country_code"):
        if fields.get(name) is not None:
            setattr(member, name, (fields[name] or "").strip())
    if email is not None:
        member.email, member.email_key = email, email.lower()
    if leg is not None:
        member.default_leg = leg.strip()
    language = (
        fields.get("language") if fields.get("language") is not None else fields.get("locale")
    )
    if language is not None:
        member.language = language
    if password is not None and not blank(password):
        member.password_hash = hash_password(password)
    if image is not None and kind is not None:
        images.store(session, member=member, upload=image, kind=kind, now=now)
    if claimed is not None:
        claimed.used_at = now
    session.flush()
    return member


# --- security tokens -----------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _valid_token(
    session: Session, *, member_id: int, token: str | None, now: datetime
) -> SecurityToken | None:
    if blank(token):
        return None
    assert token is not None
    stmt = select(SecurityToken).where(
        SecurityToken.user_id == member_id,
        SecurityToken.digest == _digest(token.strip()),
        SecurityToken.used_at.is_(None),
        SecurityToken.voided_at.is_(None),
        SecurityToken.expires_at > now,
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def request_token(session: Session, *, user_id: str | None, now: datetime) -> str:
    """Mail the member a new 20-hex-character token valid one hour; older unused ones die."""
    if blank(user_id):
        raise user_not_found()
    member = get_member(session, user_id=user_id or "")
    session.execute(
        update(SecurityToken)
        .where(
            SecurityToken.user_id == member.id,
            SecurityToken.used_at.is_(None),
            SecurityToken.voided_at.is_(None),
        )
        .values(voided_at=now)
    )
    token = secrets.token_hex(10)
    session.add(
        SecurityToken(
            user_id=member.id, digest=_digest(token), expires_at=now + TOKEN_TTL, created_at=now
        )
    )
    queue_mail(
        session,
        to=member.email,
        subject="Your security token",
        body=f"Hello {member.first_name},\n\nYour security token is {token}\n"
        "It expires in 1 hour and can be used once.\n",
        now=now,
    )
    return token


def set_request_token_on_edit(session: Session, *, username: str, value: bool) -> Member | None:
    """Operators: whether the member must give a mailed token to edit the profile."""
    member = by_username(session, username)
    if member is not None:
        member.request_token_on_edit = value
    return member


def member_count(session: Session) -> int:
    """How many members exist."""
    return session.scalar(select(func.count()).select_from(Member)) or 0


# --- wallets -------------------------------------------------------------------------------------

NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


LAST_PAGE = 2**63 - 1


def page_number(text: str) -> int:
    """Kaminari's page: the integer part, at least 1 (absurdly large values are clamped)."""
    value = Decimal(text.strip())
    if value.adjusted() > 18:
        return LAST_PAGE if value > 0 else 1
    return min(max(1, int(value)), LAST_PAGE)


@dataclass(frozen=True)
class WalletPage:
    """One page of a wallet."""

    rows: list[wallets.WalletEntry]
    total_pages: int
    current_page: int


def wallet_page(
    session: Session, *, wallet_id: str, user_id: str | None, page: str | None
) -> WalletPage:
    """Validate (422) and read one 30-row page; unknown members or wallets read as empty."""
    found: dict[str, list[str]] = {}
    if blank(user_id):
        found["user_id"] = [BLANK]
    if blank(page):
        found["page"] = [BLANK, "is not a number"]
    elif not NUMBER.fullmatch(page or ""):
        found["page"] = ["is not a number"]
    if found:
        raise form_errors(422, found)
    number = page_number(page or "1")
    owner, wallet = parse_id(user_id), parse_id(wallet_id)
    if owner is None or wallet is None:
        return WalletPage(rows=[], total_pages=0, current_page=number)
    rows, total = wallets.page(session, user_id=owner, wallet_id=wallet, number=number)
    return WalletPage(rows=rows, total_pages=total, current_page=number)


def credit(
    session: Session,
    *,
    username: str,
    wallet_id: int,
    amount: int,
    description: str,
    now: datetime,
) -> wallets.WalletEntry | None:
    """Operators: a signed wallet row; None when the member does not exist."""
    member = by_username(session, username)
    if member is None:
        return None
    return wallets.write(
        session,
        user_id=member.id,
        wallet_id=wallet_id,
        amount=amount,
        description=description,
        now=now,
    )


def place_tanked(session: Session, *, username: str, leg: str, now: datetime) -> str | None:
    """Operators/sponsors: place a member waiting in the holding tank; None when done."""
    member = by_username(session, username)
    if member is None:
        return f"no member {username!r}"
    try:
        binary.place_from_tank(session, member=member, side=leg, now=now)
    except binary.NotInTank:
        return f"{member.username} is not in the holding tank"
    return None
