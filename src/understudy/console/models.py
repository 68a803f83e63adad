"""The console's own tables: operator accounts and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from understudy.core.db import Base, UTCDateTime


class ConsoleOperator(Base):
    """A person allowed into the console; the username is unique case-insensitively."""

    __tablename__ = "console_operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped when the password changes, the operator is disabled or logs out: every session
    # cookie carries the version it was issued under and dies when the two differ.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def __str__(self) -> str:
        return self.username


class AuditEntry(Base):
    """One recorded console action: who, what, on what, when and from where."""

    __tablename__ = "console_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("console_operators.id"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    operator: Mapped[ConsoleOperator | None] = relationship(lazy="raise")
