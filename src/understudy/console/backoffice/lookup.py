"""Finding members for the console: by id or username, with their current plan's name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.backoffice.models import Member, Plan, Purchase
from understudy.backoffice.service import by_username
from understudy.core.db import parse_id, row_by_id
from understudy.core.text import is_ascii_digits

ROOT = "admin"


def find_member(session: Session, text: str) -> Member | None:
    """The member named by an id or a username (any case), if any."""
    text = text.strip()
    if is_ascii_digits(text):
        return row_by_id(session, Member, parse_id(text))
    return by_username(session, text) if text and "\x00" not in text else None


def plan_name(member_id: Any) -> Any:
    """The current plan's name of the member whose id is this column (latest purchase)."""
    return (
        select(Plan.name)
        .join(Purchase, Purchase.plan_id == Plan.id)
        .where(Purchase.user_id == member_id)
        .order_by(Purchase.id.desc())
        .limit(1)
        .scalar_subquery()
    )
