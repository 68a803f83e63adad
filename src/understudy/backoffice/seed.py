"""Reference data and the root member `admin`, seeded at start-up and after every reset."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.backoffice import auth, binary, binary_run, compensation, genealogy
from understudy.backoffice.models import CashoutCurrency, CategoryResource, Member, Plan
from understudy.backoffice.reference import CASHOUT_CURRENCIES, CATEGORY_RESOURCES, FREE_PLAN, PLANS
from understudy.backoffice.settings import get_settings
from understudy.context import AppContext
from understudy.core.instance import get_or_create_secret
from understudy.core.passwords import hash_password

log = logging.getLogger(__name__)
ADMIN = "admin"
ADMIN_PASSWORD_SECRET = "backoffice.admin_password"


@lru_cache(maxsize=4)
def _hashed(password: str) -> str:
    return hash_password(password)


def admin_password(session: Session) -> str:
    """The setting, else a password generated at first start and kept across resets."""
    configured = get_settings().admin_password
    if configured:
        return configured
    value, created = get_or_create_secret(
        session, ADMIN_PASSWORD_SECRET, lambda: secrets.token_urlsafe(12)
    )
    if created:
        log.warning("backoffice: generated the password of the root member admin: %s", value)
    return value


def seed(session: Session, ctx: AppContext) -> None:
    """Insert missing reference rows and the root member (idempotent)."""
    if session.scalar(select(Plan.id).limit(1)) is None:
        for spec in PLANS:
            session.add(Plan(**spec))
    if session.scalar(select(CategoryResource.id).limit(1)) is None:
        for id_, title, icon in CATEGORY_RESOURCES:
            session.add(CategoryResource(id=id_, title=title, icon=icon))
    for id_, name in CASHOUT_CURRENCIES:
        if session.get(CashoutCurrency, id_) is None:
            session.add(CashoutCurrency(id=id_, name=name))
    session.flush()
    auth.jwt_secret(session)  # created here, in a write transaction, before any request needs it
    if session.scalar(select(Member.id).where(Member.username_key == ADMIN)) is None:
        _create_admin(session, ctx)
    binary_run.schedule_next(session, now=ctx.now(session))


def _create_admin(session: Session, ctx: AppContext) -> None:
    now = ctx.now(session)
    settings = get_settings()
    admin = Member(
        username=ADMIN,
        username_key=ADMIN,
        email="admin@understudy.localhost",
        email_key="admin@understudy.localhost",
        first_name="Admin",
        last_name="",
        mobile="",
        country_code="US",
        password_hash=_hashed(admin_password(session)),
        language="en",
        default_leg=settings.default_leg,
        request_token_on_edit=False,
        sponsor_id=None,
        created_at=now,
    )
    session.add(admin)
    session.flush()
    genealogy.attach_sponsor(session, member=admin)
    binary.add_root(session, member=admin)
    genealogy.place_matrix(session, member_id=admin.id, sponsor_id=None, width=1)
    free = session.scalars(select(Plan).where(Plan.name == FREE_PLAN)).one()
    compensation.purchase(session, member=admin, plan=free, now=now)
