"""`serve --demo`: an API key, admin's password and a funded purchase wallet to try sign-ups."""

from __future__ import annotations

from sqlalchemy import select

from understudy.backoffice import keys, seed, wallets
from understudy.backoffice.models import WalletEntry
from understudy.backoffice.settings import get_settings
from understudy.context import AppContext
from understudy.services import DemoInfo

DEMO_TOP_UP = 1_000_000  # 10000.0 USD, as in the seed's wallet example


def demo(ctx: AppContext) -> DemoInfo:
    """Issue a fresh API key (only its hash is kept) and fund admin's purchase wallet once."""
    with ctx.db.write() as session:
        now = ctx.now(session)
        _, key = keys.create_key(session, label="demo", now=now)
        password = seed.admin_password(session)
        wallet = get_settings().purchase_wallet
        funded = session.scalar(
            select(WalletEntry.id).where(WalletEntry.user_id == 1, WalletEntry.wallet_id == wallet)
        )
        if funded is None:
            wallets.write(
                session,
                user_id=1,
                wallet_id=wallet,
                amount=DEMO_TOP_UP,
                description="Demo top-up",
                now=now,
            )
    return DemoInfo(
        lines=(f"API key {key}", f"member admin, password {password}"),
        curl=(
            f"curl -H 'x-api-key: {key}' -d username=admin -d password={password} "
            "{base}/api/v1/login"
        ),
    )
