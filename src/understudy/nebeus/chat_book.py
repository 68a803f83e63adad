"""The chat address book and contact search (im_chat user_chat_ab and init)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from understudy.core.db import is_id
from understudy.nebeus.chat import ChatError, people, stamp
from understudy.nebeus.chat_models import ChatContact, ChatMember, ChatMessage, ChatSession
from understudy.nebeus.chat_presence import statuses
from understudy.nebeus.models import User


def _last_messages(db: Session, *, user_id: int, others: list[int]) -> dict[int, ChatMessage]:
    """Newest message of each other user's 1:1 sessions with the caller."""
    found: dict[int, ChatMessage] = {}
    if not others:
        return found
    mine = select(ChatMember.session_id).where(ChatMember.user_id == user_id)
    pairs = db.execute(
        select(ChatMember.user_id, func.max(ChatMessage.id))
        .join(ChatSession, ChatSession.id == ChatMember.session_id)
        .join(ChatMessage, ChatMessage.session_id == ChatSession.id)
        .where(
            ChatSession.is_group.is_(False),
            ChatSession.id.in_(mine),
            ChatMember.user_id.in_(others),
        )
        .group_by(ChatMember.user_id)
    ).all()
    by_id = {
        m.id: m
        for m in db.scalars(select(ChatMessage).where(ChatMessage.id.in_([p[1] for p in pairs])))
    }
    for uid, mid in pairs:
        found[uid] = by_id[mid]
    return found


def search(
    db: Session, *, user_id: int, name: str, limit: int, now: datetime
) -> list[dict[str, Any]]:
    """Other active users whose name contains `name`: online first, then by name."""
    others = list(db.scalars(select(User.id).where(User.active.is_(True), User.id != user_id)))
    who = people(db, others)
    needle = name.casefold()
    matching = [p for p in who.values() if needle in p.name.casefold()]
    status = statuses(db, [p.id for p in matching], now)
    rank = {"online": 0, "away": 1, "offline": 2}
    matching.sort(key=lambda p: (rank[status[p.id]], p.name.casefold(), p.id))
    chosen = matching[:limit]
    last = _last_messages(db, user_id=user_id, others=[p.id for p in chosen])
    return [
        {
            "last_message": {
                "type": last[p.id].type,
                "create_date": stamp(last[p.id].created_at),
                "id": last[p.id].id,
            }
            if p.id in last
            else False,
            "im_status": status[p.id],
            "id": p.id,
            "name": p.name,
            "email": p.email,
            "partner_id": p.partner_id,
        }
        for p in chosen
    ]


def book(db: Session, *, user_id: int, inside: bool, now: datetime) -> list[dict[str, Any]]:
    """Other active users inside (or outside) the caller's address book, by name."""
    listed = select(ChatContact.user_id).where(ChatContact.owner_id == user_id)
    query = select(User.id).where(User.active.is_(True), User.id != user_id)
    query = query.where(User.id.in_(listed) if inside else User.id.not_in(listed))
    who = people(db, db.scalars(query))
    status = statuses(db, who, now)
    ordered = sorted(who.values(), key=lambda p: (p.name.casefold(), p.id))
    return [{"im_status": status[p.id], "id": p.id, "name": p.name} for p in ordered]


def _valid_users(db: Session, *, user_id: int, user_ids: list[int]) -> list[int]:
    wanted = set(user_ids)
    if user_id in wanted or not all(is_id(i) for i in wanted):
        raise ChatError(None, "input parameters are not valid")
    found = set(db.scalars(select(User.id).where(User.id.in_(wanted), User.active.is_(True))))
    if found != wanted:
        raise ChatError(None, "input parameters are not valid")
    return sorted(wanted)


def add_to_book(db: Session, *, user_id: int, user_ids: list[int]) -> None:
    """Put these users in the caller's address book (idempotent)."""
    present = set(db.scalars(select(ChatContact.user_id).where(ChatContact.owner_id == user_id)))
    for uid in _valid_users(db, user_id=user_id, user_ids=user_ids):
        if uid not in present:
            db.add(ChatContact(owner_id=user_id, user_id=uid))
    db.flush()


def remove_from_book(db: Session, *, user_id: int, user_ids: list[int]) -> None:
    """Take these users out of the caller's address book (idempotent)."""
    ids = _valid_users(db, user_id=user_id, user_ids=user_ids)
    db.execute(
        delete(ChatContact).where(ChatContact.owner_id == user_id, ChatContact.user_id.in_(ids))
    )


def add_partner(db: Session, *, user: User, parent: int | None, child: int | None) -> None:
    """The child partner's user into the parent's book; the parent must be the caller."""
    if not is_id(child) or parent != user.partner_id:
        raise ChatError(None, "input parameters are not valid")
    target = db.scalar(select(User.id).where(User.partner_id == child, User.active.is_(True)))
    if target is None:
        raise ChatError(None, "input parameters are not valid")
    add_to_book(db, user_id=user.id, user_ids=[target])
