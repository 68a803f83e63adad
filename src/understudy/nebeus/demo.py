"""The demo data of `serve --demo`: two users, the first with EUR and BTC."""

from __future__ import annotations

from sqlalchemy import select

from understudy.context import AppContext
from understudy.core.money import to_minor
from understudy.nebeus import banking, chat_demo, identity, loans_demo
from understudy.nebeus.models import Country
from understudy.services import DemoInfo

DEMO_PASSWORD = "demo12345"
DEMO_USERS = (
    ("demo@example.com", "Demo", "User", (("EUR", "500"), ("BTC", "0.05"))),
    ("friend@example.com", "Friend", "User", ()),
)


def demo(ctx: AppContext) -> DemoInfo:
    """Sign up the demo users once (idempotent) and fund the first one."""
    with ctx.db.write() as session:
        now = ctx.now(session)
        spain = session.scalar(select(Country.id).where(Country.code == "ES"))
        for login, name, surname, funds in DEMO_USERS:
            if identity.find_user_by_login(session, login) is not None:
                continue
            params = {
                "login": login,
                "name": name,
                "surname": surname,
                "password": DEMO_PASSWORD,
                "confirm_password": DEMO_PASSWORD,
                "country": spain,
            }
            user = identity.signup(session, params=params, now=now)
            for currency, amount in funds:
                banking.deposit(
                    session,
                    user_id=user.id,
                    currency=currency,
                    amount=to_minor(amount, currency),
                    now=now,
                )
    loans_demo.add_loans(ctx)  # an active, a repaid and a late loan (idempotent)
    chat_demo.add_chat(ctx, password=DEMO_PASSWORD)  # support agent, group, conversations
    body = (
        '{"jsonrpc":"2.0","method":"call","params":{"login":"demo@example.com",'
        f'"password":"{DEMO_PASSWORD}"}},"id":1}}'
    )
    return DemoInfo(
        lines=(
            f"demo@example.com / {DEMO_PASSWORD} (500 EUR, 0.05 BTC); "
            f"friend@example.com / {DEMO_PASSWORD}",
        ),
        curl=f"curl -H 'Content-Type: application/json' -d '{body}' {{base}}/signin/1.0/json",
    )
