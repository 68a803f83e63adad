"""Chat demo data for `serve --demo`: a support agent, address books, a group, conversations."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.context import AppContext
from understudy.nebeus import chat, chat_book, identity
from understudy.nebeus.chat_models import ChatGroup
from understudy.nebeus.models import Country

SUPPORT_GROUP = "Support"
AGENT = ("support@example.com", "Nebeus", "Support")
FRIENDS_TALK = (
    ("demo", "Hi! Did the bitcoin arrive?"),
    ("friend", "Yes, 0.01 BTC, thanks."),
    ("demo", "Great, see you at the meetup."),
)
SUPPORT_TALK = (
    ("agent", "Welcome to Nebeus support. How can we help?"),
    ("demo", "How long does a SEPA withdrawal take?"),
    ("agent", "Usually one business day."),
)


def add_chat(ctx: AppContext, *, password: str) -> None:
    """Add the chat demo once (idempotent): needs the demo users (demo@, friend@) to exist."""
    with ctx.db.write() as session:
        add(session, now=ctx.now(session), password=password)


def add(session: Session, *, now: datetime, password: str) -> None:
    """Add the chat demo in this transaction unless its group exists."""
    if session.scalar(select(ChatGroup.id).where(ChatGroup.name == SUPPORT_GROUP)) is not None:
        return
    demo = identity.find_user_by_login(session, "demo@example.com")
    friend = identity.find_user_by_login(session, "friend@example.com")
    if demo is None or friend is None:
        return
    agent = identity.find_user_by_login(session, AGENT[0])
    if agent is None:
        spain = session.scalar(select(Country.id).where(Country.code == "ES"))
        params = {
            "login": AGENT[0],
            "name": AGENT[1],
            "surname": AGENT[2],
            "password": password,
            "confirm_password": password,
            "country": spain,
        }
        agent = identity.signup(session, params=params, now=now)
    chat_book.add_to_book(session, user_id=demo.id, user_ids=[friend.id, agent.id])
    chat_book.add_to_book(session, user_id=friend.id, user_ids=[demo.id])
    group = chat.set_group(session, name=SUPPORT_GROUP, user_ids=[agent.id, demo.id, friend.id])
    who = {"demo": demo.id, "friend": friend.id, "agent": agent.id}
    pair, _ = chat.get_or_create_session(
        session, user_id=demo.id, user_to=friend.id, doc=None, now=now
    )
    support, _ = chat.get_or_create_group_session(
        session, user_id=agent.id, group_id=group.id, doc=None, now=now
    )
    start = now - timedelta(minutes=30)
    for uuid, talk in ((pair.uuid, FRIENDS_TALK), (support.uuid, SUPPORT_TALK)):
        for n, (author, text) in enumerate(talk):
            chat.post(
                session,
                user_id=who[author],
                uuid=uuid,
                message_type="message",
                content=text,
                now=start + timedelta(minutes=n),
            )
