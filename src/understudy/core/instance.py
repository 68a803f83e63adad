"""Per-installation secrets generated once and shared by every worker (kept across resets)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import String, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from understudy.core.db import Base


class InstanceSecret(Base):
    """A named secret value (e.g. a JWT signing key) created at first use."""

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def get_or_create_secret(
    session: Session, name: str, make: Callable[[], str] = lambda: secrets.token_hex(32)
) -> tuple[str, bool]:
    """The secret called name, creating it with make() if absent; returns (value, created)."""
    current = session.scalar(select(InstanceSecret.value).where(InstanceSecret.name == name))
    if current is not None:
        return current, False
    candidate = make()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(InstanceSecret).values(name=name, value=candidate).on_conflict_do_nothing()
    )
    value = session.scalars(select(InstanceSecret.value).where(InstanceSecret.name == name)).one()
    return value, value == candidate


def set_secret(session: Session, name: str, value: str) -> None:
    """Store or replace a named secret."""
    row = session.get(InstanceSecret, name)
    if row is None:
        session.add(InstanceSecret(name=name, value=value))
    else:
        row.value = value
