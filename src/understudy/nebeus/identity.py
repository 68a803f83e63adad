"""Identity rules: countries, signup, signin, sessions, password reset. No HTTP here."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pycountry
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from understudy.core import mail
from understudy.core.passwords import hash_password, verify_password
from understudy.nebeus import banking, push
from understudy.nebeus.models import (
    Country,
    Device,
    LoginFailure,
    Partner,
    ResetToken,
    User,
    WebSession,
)
from understudy.nebeus.phone_codes import PHONE_CODES

DB_NAME = "nebeus"
DEFAULT_TZ = "Europe/Madrid"
LANGS = {"es": "es_ES", "ru": "ru_RU"}
SIGNIN_MAX_FAILURES = 10
SIGNIN_WINDOW = timedelta(minutes=15)
RESET_TTL = timedelta(hours=24)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PASSWORD_CHARS = re.compile(r"^[A-Za-z0-9]+$")
MAX_PASSWORD = 64


class Refused(Exception):
    """A rule refused the operation; `errors` maps field -> message in the documented order."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@lru_cache(maxsize=1)
def _first_zones() -> dict[str, str]:
    """The first IANA zone listed for each country code (tzdata's zone.tab)."""
    zones: dict[str, str] = {}
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # no tzdata package: the system's copy
        system = Path("/usr/share/zoneinfo/zone.tab")
        text = system.read_text("utf-8") if system.exists() else ""
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _coords, zone = line.split("\t")[:3]
            zones.setdefault(code, zone)
    return zones


def seed_countries(session: Session) -> None:
    """Insert the ISO 3166-1 countries that have a calling code, if missing."""
    if session.scalar(select(func.count()).select_from(Country)):
        return
    zones = _first_zones()
    rows = [
        {
            "code": c.alpha_2,
            "name": getattr(c, "common_name", None) or c.name,
            "phone_code": PHONE_CODES[c.alpha_2],
            "tz": zones.get(c.alpha_2),
            "active": True,
        }
        for c in sorted(pycountry.countries, key=lambda c: c.alpha_2)
        if c.alpha_2 in PHONE_CODES
    ]
    session.execute(insert(Country), rows)


def list_countries(session: Session) -> list[Country]:
    """Active countries by name."""
    return list(session.scalars(select(Country).where(Country.active).order_by(Country.name)))


def password_problem(password: Any, confirm: Any) -> str | None:
    """The first password rule this pair breaks, else None."""
    if password in (None, "", False):
        return "Password should be specified"
    if not isinstance(password, str):
        return "Password may contain only Latin letters and digits"
    if len(password) < 8:
        return "Password must be at least 8 characters long"
    if len(password) > MAX_PASSWORD:
        return f"Password must be at most {MAX_PASSWORD} characters long"
    if not PASSWORD_CHARS.match(password):
        return "Password may contain only Latin letters and digits"
    if not (re.search(r"[A-Za-z]", password) and re.search(r"[0-9]", password)):
        return "Password must contain both letters and digits"
    if confirm != password:
        return "Passwords do not match; please retype them."
    return None


def _blank(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str) and not value.strip())


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _text_or_none(value: Any, limit: int) -> str | None:
    if _blank(value) or isinstance(value, (dict, list)):
        return None
    return str(value)[:limit]


def find_user_by_login(session: Session, login: str) -> User | None:
    """The user with this login, case-insensitively."""
    return session.scalar(select(User).where(User.login == login.strip().lower()))


def signup(session: Session, *, params: dict[str, Any], now: datetime) -> User:
    """Create user, partner, device and the BTC then EUR accounts; raises Refused."""
    errors: dict[str, str] = {}
    login = params.get("login")
    if _blank(login):
        errors["email"] = "Email should be specified"
    elif not isinstance(login, str) or not EMAIL.match(login.strip()) or len(login) > 320:
        errors["email"] = "Email is not valid"
    elif find_user_by_login(session, login) is not None:
        errors["email"] = "User with this email already exists"
    for name in ("name", "surname"):
        if _blank(params.get(name)) or isinstance(params.get(name), (dict, list)):
            errors[name] = f"{name.capitalize()} should be specified"
    country_param = params.get("country")
    country: Country | None = None
    if _blank(country_param):
        errors["country"] = "Country should be specified"
    else:
        country_id = _int_or_none(country_param)
        country = session.get(Country, country_id) if country_id is not None else None
        if country is None or not country.active:
            errors["country"] = "Country not found"
    problem = password_problem(params.get("password"), params.get("confirm_password"))
    if problem:
        errors["password"] = problem
    if errors:
        raise Refused(errors)
    assert isinstance(login, str) and country is not None
    partner = Partner(
        name=str(params["name"]).strip()[:200],
        surname=str(params["surname"]).strip()[:200],
        email=login.strip().lower(),
        country_id=country.id,
    )
    session.add(partner)
    session.flush()
    language = _text_or_none(params.get("language"), 20)
    user = User(
        login=login.strip().lower(),
        password_hash=hash_password(params["password"]),
        partner_id=partner.id,
        active=True,
        lang=LANGS.get((language or "").lower()[:2], "en_US"),
        tz=country.tz or DEFAULT_TZ,
        created_at=now,
    )
    session.add(user)
    session.flush()
    _store_device(session, user_id=user.id, params=params, language=language, now=now)
    for currency in ("BTC", "EUR"):
        banking.create_account(session, user_id=user.id, currency=currency, now=now)
    return user


def _store_device(
    session: Session,
    *,
    user_id: int,
    params: dict[str, Any],
    language: str | None,
    now: datetime,
) -> None:
    """Keep the push device given at signup (a known identifier moves to this user)."""
    identifier = _text_or_none(params.get("identifier"), 500)
    if identifier is None:
        return
    timezone = _int_or_none(params.get("timezone"))
    fields = {
        "user_id": user_id,
        "device_type": _int_or_none(params.get("device_type")),
        "language": language,
        "timezone": timezone if timezone is not None and abs(timezone) <= 86400 else None,
        "app_version": _text_or_none(params.get("app_version"), 100),
        "device_model": _text_or_none(params.get("device_model"), 200),
        "device_os": _text_or_none(params.get("device_os"), 100),
    }
    if fields["device_type"] is not None and not 0 <= fields["device_type"] <= 1000:
        fields["device_type"] = None
    device = session.scalar(select(Device).where(Device.identifier == identifier))
    if device is None:
        device = Device(identifier=identifier, **fields)
        session.add(device)
    else:
        for key, value in fields.items():
            setattr(device, key, value)
    session.flush()
    push.schedule_registration(session, device_id=device.id, now=now)


@dataclass(frozen=True)
class SignedIn:
    """A successful signin: the user, their partner and the new session id."""

    user: User
    partner: Partner


def signin(session: Session, *, login: Any, password: Any, now: datetime) -> SignedIn | None:
    """Check credentials; None when they do not open a session.

    Throttled per login: after SIGNIN_MAX_FAILURES failures within SIGNIN_WINDOW every try is
    refused. Failures are rows (the caller commits them), so every worker counts the same ones
    and the sandbox clock applies.
    """
    if not isinstance(login, str) or not isinstance(password, str) or not login.strip():
        return None
    key = login.strip().lower()[:320]
    user = find_user_by_login(session, key)
    if user is not None and session.get_bind().dialect.name == "postgresql":
        # Concurrent tries of one login are counted one after another.
        session.execute(select(User.id).where(User.id == user.id).with_for_update())
    since = now - SIGNIN_WINDOW
    failures = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.login == key, LoginFailure.at > since)
    )
    if (failures or 0) >= SIGNIN_MAX_FAILURES:
        return None
    ok, new_hash = (False, None)
    if user is not None:
        ok, new_hash = verify_password(password, user.password_hash)
    if user is None or not ok or not user.active:
        session.execute(delete(LoginFailure).where(LoginFailure.at <= since))
        session.add(LoginFailure(login=key, at=now))
        return None
    if new_hash:
        user.password_hash = new_hash
    partner = session.get(Partner, user.partner_id)
    assert partner is not None
    return SignedIn(user=user, partner=partner)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_reset(session: Session, *, login: str, base_url: str, now: datetime) -> bool:
    """E-mail a single-use reset link to the one active user with this login or e-mail."""
    value = login.strip().lower()
    users = list(session.scalars(select(User).where(User.login == value, User.active)))
    if not users:
        users = list(
            session.scalars(
                select(User)
                .join(Partner, Partner.id == User.partner_id)
                .where(func.lower(Partner.email) == value, User.active)
            )
        )
    if len(users) != 1:
        return False
    user = users[0]
    token = secrets.token_urlsafe(32)
    session.add(ResetToken(token_hash=_digest(token), user_id=user.id, expires_at=now + RESET_TTL))
    link = f"{base_url.rstrip('/')}/web/reset_password?db={DB_NAME}&token={token}"
    mail.queue_mail(
        session,
        to=user.login,
        subject="Password reset",
        body=f"A password reset was requested for your Nebeus account.\n\n"
        f"Follow this link within 24 hours to choose a new password:\n{link}\n\n"
        "If you did not ask for it, ignore this message.",
        now=now,
    )
    return True


def reset_token_valid(session: Session, *, token: str, now: datetime) -> bool:
    """Whether the token is unused, unexpired and belongs to an active user."""
    return (
        session.scalar(
            select(ResetToken.id)
            .join(User, User.id == ResetToken.user_id)
            .where(
                ResetToken.token_hash == _digest(token),
                ResetToken.used.is_(False),
                ResetToken.expires_at > now,
                User.active,
            )
        )
        is not None
    )


def confirm_reset(session: Session, *, token: str, password: str, now: datetime) -> bool:
    """Use a reset token once: set the new password and end every session of its user."""
    claimed = session.execute(
        update(ResetToken)
        .where(
            ResetToken.token_hash == _digest(token),
            ResetToken.used.is_(False),
            ResetToken.expires_at > now,
        )
        .values(used=True)
        .returning(ResetToken.user_id)
    ).first()
    if claimed is None:
        return False
    user = session.get(User, claimed.user_id)
    if user is None or not user.active:
        return False
    user.password_hash = hash_password(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return True
