"""Reference data after start-up or reset, and the demo data of `serve --demo`."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.context import AppContext
from understudy.fivesim import catalogue, demo_catalogue, service
from understudy.fivesim.models import User
from understudy.fivesim.settings import get_settings
from understudy.services import DemoInfo

DEMO_EMAIL = "demo.buyer@example.com"
DEMO_VENDOR_EMAIL = "demo.vendor@example.com"


def seed(session: Session, ctx: AppContext) -> None:
    """Countries and hosting products (idempotent)."""
    catalogue.seed(session)


def demo_vendor(session: Session, ctx: AppContext) -> User:
    """The vendor owning the demo numbers; its simulated modem answers every buy."""
    vendor = session.scalar(select(User).where(User.email == DEMO_VENDOR_EMAIL))
    if vendor is None:
        vendor, _ = service.create_user(
            session, email=DEMO_VENDOR_EMAIL, now=ctx.now(session), vendor="demo"
        )
    vendor.modem = True
    return vendor


def demo(ctx: AppContext) -> DemoInfo:
    """A buyer with 1000 RUB, a demo vendor with a modem, and a catalogue of real names."""
    settings = get_settings()
    size = demo_catalogue.Size(
        countries=settings.demo_countries,
        products=settings.demo_products,
        operators=settings.demo_operators,
        numbers=settings.demo_numbers,
    )
    with ctx.db.write() as session:
        now = ctx.now(session)
        vendor = demo_vendor(session, ctx)
        demo_catalogue.load(session, vendor_id=vendor.id, size=size, now=now)
        existing = session.scalar(select(User).where(User.email == DEMO_EMAIL))
        if existing is None:
            _, token = service.create_user(session, email=DEMO_EMAIL, now=now, balance=100000)
        else:  # a new token each start: only its hash is stored
            token = secrets.token_urlsafe(32)
            existing.token_hash = service.hash_token(token)
    seconds = settings.modem_seconds
    return DemoInfo(
        lines=(
            f"buyer {DEMO_EMAIL} (1000 RUB), token {token}",
            f"catalogue: {size.countries} countries; the demo vendor's modem sends each "
            f"bought number an SMS with a code after {seconds} s (check the order)",
        ),
        curl=(
            f"curl -H 'Authorization: Bearer {token}' "
            "{base}/v1/user/buy/activation/russia/any/telegram"
        ),
    )
