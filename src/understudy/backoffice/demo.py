"""`serve --demo`: an API key, admin's password, and an organisation of a few hundred members."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.backoffice import binary, binary_run, content, keys, operations, seed, wallets
from understudy.backoffice.models import Member, WalletEntry
from understudy.backoffice.service import by_username, create_member
from understudy.backoffice.settings import get_settings
from understudy.context import AppContext
from understudy.core.passwords import hash_password
from understudy.services import DemoInfo

DEMO_TOP_UP = 1_000_000  # 10000.0 USD, as in the seed's wallet example
DEMO_MEMBERS = 200
DEMO_PASSWORD = "demo1234"
MEMBER_FUNDS = 50_000  # 500.0 USD in each demo member's purchase wallet
SPAN = timedelta(days=7, hours=12)  # sign-ups spread over the dashboard's 8-day chart
FIRST_NAMES = ("Ana", "Luis", "María", "José", "Carmen", "Jorge", "Lucía", "Pedro", "Sofía", "Raúl")
LAST_NAMES = ("García", "Rivera", "López", "Moreira", "Pérez", "Castro", "Ramos", "Vega", "Ortiz")
COUNTRIES = ("US", "MX", "CO", "NI", "ES", "PE", "AR", "GT", "PH", "VN", "CL", "BR")
LEGS = ("left",) * 7 + ("right",) * 5 + ("balanced",) * 7 + ("binary_tank",)


def demo(ctx: AppContext) -> DemoInfo:
    """Issue a fresh API key (only its hash is kept), fund admin, and grow the demo org once."""
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
    ctx.db.transaction(lambda session: populate(session, now=ctx.now(session)))
    return DemoInfo(
        lines=(
            f"API key {key}",
            f"member admin, password {password}",
            f"{DEMO_MEMBERS} demo members demo1 … demo{DEMO_MEMBERS}, password {DEMO_PASSWORD}",
        ),
        curl=(
            f"curl -H 'x-api-key: {key}' -d username=admin -d password={password} "
            "{base}/api/v1/login"
        ),
    )


def populate(session: Session, *, now: datetime, count: int | None = None) -> int:
    """Sign up `count` members (once): all trees, plans bought, bonuses paid, tickets, notices."""
    if by_username(session, "demo1") is not None:
        return 0
    count = DEMO_MEMBERS if count is None else count
    rng = random.Random(2022)
    hashed = hash_password(DEMO_PASSWORD)
    start = now - SPAN
    names = ["admin"]
    for index in range(1, count + 1):
        at = start + SPAN * index / (count + 1)
        sponsor = "admin" if rng.random() < 0.08 else rng.choice(names[-40:])
        sponsor_member = by_username(session, sponsor)
        assert sponsor_member is not None
        _fund(session, sponsor_member.id, at)
        name = f"demo{index}"
        member = create_member(
            session,
            fields={
                "sponsor": sponsor,
                "first_name": rng.choice(FIRST_NAMES),
                "last_name": rng.choice(LAST_NAMES),
                "email": f"{name}@demo.example",
                "user_name": name,
                "mobile": f"8{rng.randrange(10**7):07d}",
                "password": DEMO_PASSWORD,
                "country_code": rng.choice(COUNTRIES),
            },
            plan_name="Entrepreneur" if rng.random() < 0.5 else "Free Plan",
            now=at,
            password_hash=hashed,
        )
        member.default_leg = rng.choice(LEGS)
        names.append(name)
        if member.binary_state == "tank" and rng.random() < 0.6:
            binary.place_from_tank(
                session, member=member, side=rng.choice(("left", "right")), now=at
            )
    binary_run.run(session, now=now - timedelta(hours=1))
    _content(session, rng, names, now)
    return count


def _fund(session: Session, user_id: int, at: datetime) -> None:
    """Top up a sponsor's purchase wallet when it runs low."""
    wallet = get_settings().purchase_wallet
    if wallets.balance(session, user_id=user_id, wallet_id=wallet) < 5_000:
        wallets.write(
            session,
            user_id=user_id,
            wallet_id=wallet,
            amount=MEMBER_FUNDS,
            description="Demo top-up",
            now=at,
        )


def _content(session: Session, rng: random.Random, names: list[str], now: datetime) -> None:
    """Notices, resources, tickets with threads and a few cash-outs."""
    content.add_notice(
        session,
        title="Bienvenidos",
        content="Nuevo plan de compensación.",
        username=None,
        plan=None,
    )
    content.add_notice(
        session,
        title="Entrepreneur",
        content="<div>Bono matriz activo.</div>",
        username=None,
        plan="Entrepreneur",
    )
    content.add_notice(
        session, title="Hola admin", content="Revisa tu tablero.", username="admin", plan=None
    )
    for category_id, title in ((1, "Logo"), (2, "Presentación en video"), (5, "Plan (PDF)")):
        content.add_resource(
            session,
            category_id=category_id,
            title=title,
            description=f"{title} para compartir.",
            video="https://www.youtube.com/watch?v=demo" if category_id == 2 else "",
            file="" if category_id == 2 else f"/uploads/resource/file/{category_id}/demo.pdf",
        )
    for index in range(12):
        name = rng.choice(names)
        member = by_username(session, name)
        assert member is not None
        ticket = content.open_ticket(
            session,
            user_id=str(member.id),
            subject=f"Consulta {index + 1}",
            comment="<div>Tengo dudas del cashout.</div>",
            now=now - timedelta(hours=12 - index),
        )
        content.add_thread(
            session, ticket_id=str(ticket.id), content="<div>Gracias.</div>", now=now
        )
        content.set_ticket_status(session, ticket_id=ticket.id, status=rng.choice(TICKET_STATES))
    earners = session.scalars(
        select(Member.username)
        .join(WalletEntry, WalletEntry.user_id == Member.id)
        .where(WalletEntry.wallet_id == wallets.COMMISSIONS, WalletEntry.balance >= 1_000)
        .group_by(Member.username)
        .order_by(Member.username)
        .limit(3)
    ).all()
    for username in earners:
        found, _ = operations.request_cashout(
            session,
            username=username,
            wallet_id=wallets.COMMISSIONS,
            currency_id=470,
            amount=1_000,
            address="TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE",
            now=now,
        )
        if found is not None and username == earners[0]:
            operations.resolve_cashout(session, cashout_id=found, status="approved", now=now)


TICKET_STATES = ("New", "New", "In Progress", "Closed")
