"""Chat presence (Odoo 8 im_chat.presence): online, away or offline from polls and activity."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from understudy.nebeus.chat_models import ChatContact, ChatMember, ChatPresence

DISCONNECTION = timedelta(seconds=55)  # no poll for this long: offline
AWAY = timedelta(seconds=600)  # no real activity for this long: away
TIMEOUT = timedelta(seconds=50)  # last_poll is written at most this often unless status changes
REFRESH = timedelta(seconds=45)  # connected clients (waiting polls, sockets) refresh this often

Note = tuple[Any, dict[str, Any]]  # (channel, message) for the bus


def user_channel(user_id: int) -> list[Any]:
    """A user's own bus channel, as Odoo names it."""
    return ["nebeus", "im_chat.session", user_id]


def im_status(row: ChatPresence | None, now: datetime) -> str:
    """The status a presence row means now."""
    if row is None or now - row.last_poll > DISCONNECTION:
        return "offline"
    if now - row.last_presence > AWAY:
        return "away"
    return "online"


def statuses(db: Session, user_ids: Iterable[int], now: datetime) -> dict[int, str]:
    """im_status of each user (offline when never seen)."""
    ids = list(set(user_ids))
    rows = {
        p.user_id: p for p in db.scalars(select(ChatPresence).where(ChatPresence.user_id.in_(ids)))
    }
    return {uid: im_status(rows.get(uid), now) for uid in ids}


def contacts_of(db: Session, user_id: int) -> set[int]:
    """Users who see this user's presence: session co-members and address-book owners."""
    mine = select(ChatMember.session_id).where(ChatMember.user_id == user_id)
    members = db.scalars(
        select(ChatMember.user_id).where(ChatMember.session_id.in_(mine)).distinct()
    )
    owners = db.scalars(select(ChatContact.owner_id).where(ChatContact.user_id == user_id))
    return ({*members} | {*owners}) - {user_id}


def presence_notes(db: Session, user_id: int, status: str) -> list[Note]:
    """Bus notifications telling this user's contacts their new status."""
    body = {"id": user_id, "im_status": status}
    return [(user_channel(uid), body) for uid in sorted(contacts_of(db, user_id))]


def _status_after(row: ChatPresence, now: datetime, user_presence: bool) -> str:
    return "online" if user_presence or now - row.last_presence <= AWAY else "away"


def touch_due(row: ChatPresence | None, *, now: datetime, user_presence: bool) -> bool:
    """Whether `touch` would write: a status change, or a stamp it refreshes older than TIMEOUT."""
    if row is None:
        return True
    after = _status_after(row, now, user_presence)
    return (
        im_status(row, now) != after
        or row.status != after
        or now - row.last_poll > TIMEOUT
        or (user_presence and now - row.last_presence > TIMEOUT)
    )


def touch(db: Session, *, user_id: int, now: datetime, user_presence: bool) -> list[Note]:
    """Record a poll (and real activity if `user_presence`); notes for a status change."""
    row = db.get(ChatPresence, user_id)
    if row is None:
        db.add(ChatPresence(user_id=user_id, status="online", last_poll=now, last_presence=now))
        db.flush()
        return presence_notes(db, user_id, "online")
    changed = im_status(row, now) != _status_after(row, now, user_presence)
    if touch_due(row, now=now, user_presence=user_presence):
        row.last_poll = now
        row.status = _status_after(row, now, user_presence)
        if user_presence:
            row.last_presence = now
    return presence_notes(db, user_id, row.status) if changed else []


def refresh_connected(db: Session, *, user_ids: Iterable[int], now: datetime) -> list[Note]:
    """Keep users with an open poll or socket online: a poll without presence when stale."""
    ids = list(set(user_ids))
    if not ids:
        return []
    # Still online, only due for a refresh: one statement for all of them.
    db.execute(
        update(ChatPresence)
        .where(
            ChatPresence.user_id.in_(ids),
            ChatPresence.status == "online",
            ChatPresence.last_poll < now - REFRESH,
            ChatPresence.last_poll >= now - DISCONNECTION,
            ChatPresence.last_presence >= now - AWAY,
        )
        .values(last_poll=now)
        .execution_options(synchronize_session=False)
    )
    stale = db.scalars(
        select(ChatPresence.user_id).where(
            ChatPresence.user_id.in_(ids),
            or_(ChatPresence.last_poll < now - REFRESH, ChatPresence.last_presence < now - AWAY),
        )
    ).all()
    notes: list[Note] = []
    for uid in stale:
        notes += touch(db, user_id=uid, now=now, user_presence=False)
    return notes


def disconnect_stale(db: Session, *, now: datetime) -> list[Note]:
    """Mark users whose last poll is too old offline; notes for their contacts."""
    gone = db.scalars(
        update(ChatPresence)
        .where(ChatPresence.status != "offline", ChatPresence.last_poll < now - DISCONNECTION)
        .values(status="offline")
        .returning(ChatPresence.user_id)
    ).all()
    notes: list[Note] = []
    for uid in sorted(gone):
        notes += presence_notes(db, uid, "offline")
    return notes
