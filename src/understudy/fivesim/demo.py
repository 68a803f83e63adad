"""Reference data after start-up or reset, and the demo data of `serve --demo`."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.context import AppContext
from understudy.fivesim import catalogue, service
from understudy.fivesim.models import User
from understudy.services import DemoInfo

DEMO_EMAIL = "demo.buyer@example.com"
DEMO_STOCK = (
    ("russia", "beeline", "vkontakte", 20, 2100),
    ("russia", "tele2", "telegram", 20, 800),
    ("england", "vodafone", "telegram", 10, 1500),
    ("russia", "beeline", "1day", 5, 8000),
)


def seed(session: Session, ctx: AppContext) -> None:
    """Countries and hosting products (idempotent)."""
    catalogue.seed(session)


def demo(ctx: AppContext) -> DemoInfo:
    """A buyer with 100 RUB and a few stocked offers; prints a fresh token for the buyer."""
    with ctx.db.write() as session:
        now = ctx.now(session)
        existing = session.scalar(select(User).where(User.email == DEMO_EMAIL))
        vendor = service.sandbox_vendor(session, now=now)
        for country, operator, product, count, price in DEMO_STOCK:
            found = catalogue.country(session, name=country)
            assert found is not None
            catalogue.set_stock(
                session,
                country=found,
                operator=operator,
                product_name=product,
                count=count,
                price=price,
                vendor_id=vendor.id,
                now=now,
            )
        if existing is None:
            _, token = service.create_user(session, email=DEMO_EMAIL, now=now, balance=10000)
        else:  # a new token each start: only its hash is stored
            token = secrets.token_urlsafe(32)
            existing.token_hash = service.hash_token(token)
    return DemoInfo(
        lines=(f"buyer {DEMO_EMAIL} (100 RUB), token {token}",),
        curl=f"curl -H 'Authorization: Bearer {token}' {{base}}/v1/user/profile",
    )
