"""Helpers shared by the nebeus console pages: money text and users' names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.core.money import to_major
from understudy.nebeus.models import Partner, User


def money(minor: int, currency: str) -> str:
    """Minor units as major-unit text with the currency, e.g. "500.00 EUR"."""
    return f"{to_major(minor, currency):f} {currency}"


def when(moment: datetime | None) -> str:
    """A UTC instant as "YYYY-MM-DD HH:MM:SS", or an empty string."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


@dataclass(frozen=True)
class Person:
    """A user as the console lists them: id, login and the partner's name."""

    id: int
    login: str
    name: str


def people(session: Session, user_ids: set[int]) -> dict[int, Person]:
    """The users with these ids (one query)."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(User.id, User.login, Partner.name, Partner.surname)
        .join(Partner, Partner.id == User.partner_id)
        .where(User.id.in_(user_ids))
    )
    return {
        uid: Person(id=uid, login=login, name=f"{name} {surname}".strip())
        for uid, login, name, surname in rows
    }
