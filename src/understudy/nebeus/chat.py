"""im_chat rules: sessions (1:1 and group), members' windows, messages, the address book.

Plain functions taking a database session; bus notifications are returned as notes
(channel, message) for the caller to send inside the same transaction.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from understudy.core.db import MAX_ID, is_id, row_by_id
from understudy.nebeus.chat_models import (
    ChatGroup,
    ChatGroupMember,
    ChatMember,
    ChatMessage,
    ChatSession,
    ChatSessionDoc,
)
from understudy.nebeus.chat_presence import Note, statuses, user_channel
from understudy.nebeus.models import Partner, User

STATES = ("open", "folded", "closed")
STATUSES = ("active", "favorite", "archive")
STORED_TYPES = ("message", "meta", "money4_chat_attach_msg")
TYPES = (*STORED_TYPES, "typing")
MAX_MESSAGE = 10_000
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class ChatError(Exception):
    """A refused chat operation: the field at fault (or None) and the documented message."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def no_session() -> ChatError:
    """The one answer for an unknown session and for a session the caller is not in."""
    return ChatError("uuid", "Session does not exist")


@dataclass(frozen=True)
class Doc:
    """A document link: an Odoo model name and a record id."""

    model: str
    id: int


@dataclass(frozen=True)
class Person:
    """What chat objects show of a user."""

    id: int
    name: str
    email: str
    partner_id: int


def stamp(moment: datetime) -> str:
    """The wire format of datetimes."""
    return moment.strftime(DATETIME_FORMAT)


# Hot queries, built once (building a statement costs more than SQLite running it).
_PEOPLE = (
    select(User.id, User.login, Partner.id, Partner.name, Partner.surname)
    .join(Partner, Partner.id == User.partner_id)
    .where(User.id.in_(bindparam("ids", expanding=True)))
)
_MEMBERSHIP = (
    select(ChatSession, ChatMember)
    .join(ChatMember, ChatMember.session_id == ChatSession.id)
    .where(ChatSession.uuid == bindparam("uuid"), ChatMember.user_id == bindparam("user_id"))
)
_MEMBERS = select(ChatMember).where(ChatMember.session_id == bindparam("session_id"))


def people(db: Session, user_ids: Iterable[int]) -> dict[int, Person]:
    """Users by id with their "<name> <surname>"."""
    rows = db.execute(_PEOPLE, {"ids": list(set(user_ids))})
    return {
        uid: Person(id=uid, name=f"{name} {surname}", email=login, partner_id=pid)
        for uid, login, pid, name, surname in rows
    }


def active_user(db: Session, user_id: int | None) -> User | None:
    """The active user with this id."""
    if not is_id(user_id):
        return None
    return db.scalar(select(User).where(User.id == user_id, User.active.is_(True)))


def _link(prefix: str, doc: Doc | None) -> str:
    return prefix + (f"|{doc.model}:{doc.id}" if doc else "")


def membership(db: Session, *, user_id: int, uuid: Any) -> tuple[ChatSession, ChatMember]:
    """The session with this uuid and the caller's membership, else "Session does not exist"."""
    if not isinstance(uuid, str) or len(uuid) > 36:
        raise no_session()
    row = db.execute(_MEMBERSHIP, {"uuid": uuid.strip(), "user_id": user_id}).first()
    if row is None:
        raise no_session()
    return row[0], row[1]


def _create(
    db: Session,
    *,
    link: str,
    members: list[int],
    doc: Doc | None,
    group_id: int | None,
    now: datetime,
) -> ChatSession | None:
    """A new session with these members, or None when another transaction made it first."""
    try:
        with db.begin_nested():
            session = ChatSession(
                uuid=str(uuidlib.uuid4()),
                link=link,
                is_group=group_id is not None,
                group_id=group_id,
                created_at=now,
            )
            db.add(session)
            db.flush()
            db.add_all(
                ChatMember(
                    session_id=session.id, user_id=uid, state="open", status="active", is_read=True
                )
                for uid in members
            )
            if doc:
                db.add(ChatSessionDoc(session_id=session.id, doc_model=doc.model, doc_id=doc.id))
            db.flush()
    except IntegrityError:
        return None
    return session


def _get_or_create(
    db: Session,
    *,
    link: str,
    members: list[int],
    doc: Doc | None,
    group_id: int | None,
    caller: int,
    now: datetime,
) -> tuple[ChatSession, bool]:
    for _ in range(3):
        session = db.scalar(select(ChatSession).where(ChatSession.link == link))
        if session is not None:
            return session, False
        created = _create(db, link=link, members=members, doc=doc, group_id=group_id, now=now)
        if created is not None:
            return created, True
    raise RuntimeError("could not create the chat session")


def _reopen(db: Session, *, session_id: int, user_id: int) -> None:
    member = db.get(ChatMember, (session_id, user_id))
    if member is not None:
        member.state = "open"


def get_or_create_session(
    db: Session, *, user_id: int, user_to: int | None, doc: Doc | None, now: datetime
) -> tuple[ChatSession, list[Note]]:
    """The caller's 1:1 session with `user_to` and this doc link (reopened), else a new one."""
    other = active_user(db, user_to)
    if other is None or other.id == user_id:
        raise ChatError("user_to", "User does not exist")
    pair = sorted((user_id, other.id))
    session, created = _get_or_create(
        db,
        link=_link(f"u:{pair[0]}:{pair[1]}", doc),
        members=pair,
        doc=doc,
        group_id=None,
        caller=user_id,
        now=now,
    )
    _reopen(db, session_id=session.id, user_id=user_id)
    notes = [_info_note(db, session, other.id, now)] if created else []
    return session, notes


def group_of(db: Session, *, user_id: int, group_id: int | None) -> ChatGroup:
    """The group, if the caller belongs to it, else "Group does not exist"."""
    group = row_by_id(db, ChatGroup, group_id)
    if group is None or db.get(ChatGroupMember, (group.id, user_id)) is None:
        raise ChatError("group", "Group does not exist")
    return group


def group_users(db: Session, group_id: int) -> list[int]:
    """Active users of a group, by id."""
    return list(
        db.scalars(
            select(ChatGroupMember.user_id)
            .join(User, User.id == ChatGroupMember.user_id)
            .where(ChatGroupMember.group_id == group_id, User.active.is_(True))
            .order_by(ChatGroupMember.user_id)
        )
    )


def sync_members(db: Session, *, session: ChatSession, user_ids: list[int]) -> list[int]:
    """Make the session's members exactly these users; returns the users added."""
    current = set(db.scalars(select(ChatMember.user_id).where(ChatMember.session_id == session.id)))
    wanted = set(user_ids)
    gone = current - wanted
    if gone:
        db.execute(
            delete(ChatMember).where(
                ChatMember.session_id == session.id, ChatMember.user_id.in_(gone)
            )
        )
    added = sorted(wanted - current)
    db.add_all(
        ChatMember(session_id=session.id, user_id=uid, state="open", status="active", is_read=True)
        for uid in added
    )
    db.flush()
    return added


def get_or_create_group_session(
    db: Session, *, user_id: int, group_id: int | None, doc: Doc | None, now: datetime
) -> tuple[ChatSession, list[Note]]:
    """The group's session with this doc link (members synced, reopened), else a new one."""
    group = group_of(db, user_id=user_id, group_id=group_id)
    users = group_users(db, group.id)
    session, created = _get_or_create(
        db,
        link=_link(f"g:{group.id}", doc),
        members=users,
        doc=doc,
        group_id=group.id,
        caller=user_id,
        now=now,
    )
    added = users if created else sync_members(db, session=session, user_ids=users)
    _reopen(db, session_id=session.id, user_id=user_id)
    notes = [_info_note(db, session, uid, now) for uid in added if uid != user_id]
    return session, notes


def resync_group(db: Session, *, group_id: int) -> None:
    """After an operator changed a group: every session of it gets the group's members."""
    users = group_users(db, group_id)
    for session in db.scalars(select(ChatSession).where(ChatSession.group_id == group_id)):
        sync_members(db, session=session, user_ids=users)


def sessions_of(
    db: Session,
    *,
    user_id: int,
    is_group: bool,
    with_user: int | None = None,
    group_id: int | None = None,
    doc_model: str | None = None,
    doc_id: int | None = None,
    state: str | None = None,
) -> list[ChatSession]:
    """The caller's sessions of one kind matching the filters, newest first."""
    query = (
        select(ChatSession)
        .join(ChatMember, ChatMember.session_id == ChatSession.id)
        .where(ChatMember.user_id == user_id, ChatSession.is_group.is_(is_group))
    )
    if state:
        query = query.where(ChatMember.state == state)
    if with_user is not None:
        other = select(ChatMember.session_id).where(ChatMember.user_id == with_user)
        query = query.where(ChatSession.id.in_(other))
    if group_id is not None:
        query = query.where(ChatSession.group_id == group_id)
    if doc_model is not None:
        docs = select(ChatSessionDoc.id).where(
            ChatSessionDoc.session_id == ChatSession.id, ChatSessionDoc.doc_model == doc_model
        )
        if doc_id is not None:
            docs = docs.where(ChatSessionDoc.doc_id == doc_id)
        query = query.where(exists(docs))
    return list(db.scalars(query.order_by(ChatSession.created_at.desc(), ChatSession.id.desc())))


def session_info(
    db: Session, session: ChatSession, viewer_id: int, now: datetime
) -> dict[str, Any]:
    """The session object as its viewer sees it (Odoo's session_info plus nebeus' keys)."""
    members = list(db.scalars(select(ChatMember).where(ChatMember.session_id == session.id)))
    mine = next((m for m in members if m.user_id == viewer_id), None)
    ids = sorted(m.user_id for m in members)
    who = people(db, ids)
    status = statuses(db, ids, now)
    last_ids = dict(
        db.execute(
            select(ChatMessage.from_id, func.max(ChatMessage.id))
            .where(ChatMessage.session_id == session.id)
            .group_by(ChatMessage.from_id)
        ).all()
    )
    last = {
        m.id: m
        for m in db.scalars(select(ChatMessage).where(ChatMessage.id.in_(last_ids.values())))
    }
    docs = db.scalars(
        select(ChatSessionDoc)
        .where(ChatSessionDoc.session_id == session.id)
        .order_by(ChatSessionDoc.id)
    ).all()
    groups = []
    if session.group_id is not None:
        group = db.get(ChatGroup, session.group_id)
        groups = [{"id": group.id, "name": group.name}] if group else []
    users = []
    for uid in ids:
        person = who.get(uid)
        if person is None:
            continue
        message = last.get(last_ids.get(uid, -1))
        users.append(
            {
                "im_status": status[uid],
                "id": uid,
                "name": person.name,
                "partner_id": [person.partner_id, person.name],
                "last_message": {
                    "type": message.type,
                    "message": message.message,
                    "create_date": stamp(message.created_at),
                    "id": message.id,
                }
                if message
                else False,
            }
        )
    return {
        "create_date": stamp(session.created_at),
        "uuid": session.uuid,
        "with_documents": bool(docs),
        "status": mine.status if mine else "active",
        "state": mine.state if mine else "closed",
        "is_group": session.is_group,
        "is_read": mine.is_read if mine else True,
        "groups": groups,
        "docs": [{"doc_model": d.doc_model, "doc_id": d.doc_id, "id": d.id} for d in docs],
        "users": users,
    }


def _info_note(db: Session, session: ChatSession, user_id: int, now: datetime) -> Note:
    return (user_channel(user_id), session_info(db, session, user_id, now))


def post(
    db: Session, *, user_id: int, uuid: Any, message_type: Any, content: Any, now: datetime
) -> tuple[int | None, list[Note]]:
    """Store (unless typing) and broadcast a message; others' windows unread, closed -> folded."""
    session, _ = membership(db, user_id=user_id, uuid=uuid)
    if message_type in (None, False, ""):
        raise ChatError("message_type", "Message type should be specified")
    if message_type not in TYPES:
        raise ChatError("message_type", "Message type is not valid")
    text = _content(message_type, content)
    sender = people(db, [user_id])[user_id]
    members = list(db.scalars(_MEMBERS, {"session_id": session.id}))
    message_id: int | None = None
    if message_type != "typing":
        row = ChatMessage(
            session_id=session.id, from_id=user_id, type=message_type, message=text, created_at=now
        )
        db.add(row)
        db.flush()
        message_id = row.id
        for member in members:
            if member.user_id == user_id:
                member.is_read = True
            else:
                member.is_read = False
                if member.state == "closed":
                    member.state = "folded"
    data = {
        "id": message_id if message_id is not None else False,
        "from_id": [user_id, sender.name],
        "to_id": [session.id, session.uuid],
        "create_date": stamp(now),
        "type": message_type,
        "message": text,
    }
    notes: list[Note] = [(session.uuid, data)]
    notes += [(user_channel(m.user_id), data) for m in sorted(members, key=lambda m: m.user_id)]
    return message_id, notes


def _content(message_type: str, content: Any) -> str:
    if isinstance(content, (dict, list)) and message_type == "money4_chat_attach_msg":
        text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    elif isinstance(content, (dict, list, bool)):
        raise ChatError("message_content", "Message is not valid")
    elif content is None:
        text = ""
    else:
        text = str(content)
    if not text.strip() and message_type != "typing":
        raise ChatError("message_content", "Message should be specified")
    if len(text) > MAX_MESSAGE:
        raise ChatError(
            "message_content", f"Message is too long (at most {MAX_MESSAGE} characters)"
        )
    return text


def history(
    db: Session, *, user_id: int, uuid: Any, last_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Messages newest first, older than `last_id`; marks the session read for the caller."""
    session, member = membership(db, user_id=user_id, uuid=uuid)
    member.is_read = True
    query = select(ChatMessage).where(ChatMessage.session_id == session.id)
    if last_id is not None:
        query = query.where(ChatMessage.id < min(last_id, MAX_ID + 1))
    rows = list(db.scalars(query.order_by(ChatMessage.id.desc()).limit(min(limit, MAX_ID))))
    who = people(db, {r.from_id for r in rows})
    return [
        {
            "create_date": stamp(r.created_at),
            "to_id": [session.id, session.uuid],
            "message": r.message,
            "type": r.type,
            "id": r.id,
            "from_id": [r.from_id, who[r.from_id].name],
            "from_partner_id": [who[r.from_id].partner_id, who[r.from_id].name],
        }
        for r in rows
    ]


def set_status(db: Session, *, user_id: int, uuid: Any, status: Any) -> ChatSession:
    """Change the caller's status of a session."""
    session, member = membership(db, user_id=user_id, uuid=uuid)
    if status in (None, False, ""):
        raise ChatError("new_status", "Status should be specified")
    if status not in STATUSES:
        raise ChatError("new_status", "Status is not valid")
    member.status = status
    return session


def set_state(db: Session, *, user_id: int, uuid: Any, state: Any) -> tuple[ChatSession, str]:
    """Set the caller's window state, or toggle it (open -> folded, else open)."""
    session, member = membership(db, user_id=user_id, uuid=uuid)
    if state in (None, False, ""):
        state = "folded" if member.state == "open" else "open"
    elif state not in STATES:
        raise ChatError("state", "State is not valid")
    member.state = state
    return session, state


def info_note(db: Session, *, session: ChatSession, user_id: int, now: datetime) -> Note:
    """The session object on its viewer's channel (other tabs follow window changes)."""
    return _info_note(db, session, user_id, now)


def set_group(db: Session, *, name: str, user_ids: list[int]) -> ChatGroup:
    """Create the group or replace its members (operators)."""
    group = db.scalar(select(ChatGroup).where(ChatGroup.name == name))
    if group is None:
        group = ChatGroup(name=name)
        db.add(group)
        db.flush()
    db.execute(delete(ChatGroupMember).where(ChatGroupMember.group_id == group.id))
    db.add_all(ChatGroupMember(group_id=group.id, user_id=uid) for uid in sorted(set(user_ids)))
    db.flush()
    resync_group(db, group_id=group.id)
    return group
