"""im_chat tables: groups, sessions and their members, messages, address book, presence, bus."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from understudy.core.db import Base, UTCDateTime


class ChatGroup(Base):
    """A set of users made by an operator; its members share group sessions."""

    __tablename__ = "nebeus_chat_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class ChatGroupMember(Base):
    """A user in a chat group."""

    __tablename__ = "nebeus_chat_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("nebeus_chat_groups.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), primary_key=True)


class ChatSession(Base):
    """A conversation (Odoo im_chat.session); `link` keeps one per pair or group and doc link."""

    __tablename__ = "nebeus_chat_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    link: Mapped[str] = mapped_column(String(200), unique=True)
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("nebeus_chat_groups.id"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatSessionDoc(Base):
    """A document a session is about (Odoo model name and record id)."""

    __tablename__ = "nebeus_chat_session_docs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("nebeus_chat_sessions.id"), index=True)
    doc_model: Mapped[str] = mapped_column(String(64))
    doc_id: Mapped[int] = mapped_column(Integer)


class ChatMember(Base):
    """A user in a session with their window state, status and read flag."""

    __tablename__ = "nebeus_chat_members"

    session_id: Mapped[int] = mapped_column(ForeignKey("nebeus_chat_sessions.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("nebeus_users.id"), primary_key=True, index=True
    )
    state: Mapped[str] = mapped_column(String(10), default="open")
    status: Mapped[str] = mapped_column(String(10), default="active")
    is_read: Mapped[bool] = mapped_column(Boolean, default=True)


class ChatMessage(Base):
    """A stored message of a session (typing notices are never stored)."""

    __tablename__ = "nebeus_chat_messages"
    __table_args__ = (Index("ix_nebeus_chat_messages_session_id_id", "session_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("nebeus_chat_sessions.id"))
    from_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatContact(Base):
    """A user in another user's address book."""

    __tablename__ = "nebeus_chat_contacts"
    __table_args__ = (UniqueConstraint("owner_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)


class ChatPresence(Base):
    """A user's last poll and last real activity (Odoo im_chat.presence)."""

    __tablename__ = "nebeus_chat_presence"

    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="offline")
    last_poll: Mapped[datetime] = mapped_column(UTCDateTime)
    last_presence: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatNotification(Base):
    """One notification on one channel (Odoo bus.bus), kept 100 s for pollers."""

    __tablename__ = "nebeus_chat_bus"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), index=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
