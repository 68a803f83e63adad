"""Notices, resources, products and support tickets: plain records, one transaction each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from understudy.backoffice.earnings import current_plan
from understudy.backoffice.errors import form_errors
from understudy.backoffice.models import (
    CategoryResource,
    Member,
    Notice,
    Plan,
    Purchase,
    Resource,
    Ticket,
    TicketThread,
)
from understudy.core.db import parse_id, row_by_id

BLANK = "can't be blank"


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def notices(session: Session, *, member: Member) -> tuple[list[Notice], ...]:
    """(general, the member's own, the member's current plan's) notices, each by id."""
    plan = current_plan(session, user_id=member.id)
    general = select(Notice).where(Notice.user_id.is_(None), Notice.plan_id.is_(None))
    own = select(Notice).where(Notice.user_id == member.id)
    for_plan = select(Notice).where(
        Notice.plan_id == (plan.id if plan else -1), Notice.user_id.is_(None)
    )
    return tuple(
        list(session.scalars(stmt.order_by(Notice.id))) for stmt in (general, own, for_plan)
    )


def products(session: Session, *, member: Member) -> list[tuple[Purchase, Plan]]:
    """The member's plan purchases by id."""
    rows = session.execute(
        select(Purchase, Plan)
        .join(Plan, Plan.id == Purchase.plan_id)
        .where(Purchase.user_id == member.id)
        .order_by(Purchase.id)
    )
    return [(purchase, plan) for purchase, plan in rows]


def resources(session: Session, *, category_id: str) -> list[Resource]:
    """A category's resources by id; 404 when the category does not exist."""
    found = parse_id(category_id)
    if found is None or session.get(CategoryResource, found) is None:
        raise form_errors(404, {"category_id": ["category_id doesn't exist."]})
    return list(
        session.scalars(select(Resource).where(Resource.category_id == found).order_by(Resource.id))
    )


def tickets(session: Session, *, user_id: str) -> list[Ticket]:
    """A member's tickets by id; 404 when the member does not exist."""
    found = parse_id(user_id)
    if found is None or session.get(Member, found) is None:
        raise form_errors(404, {"user_id": ["user_id doesn't exist."]})
    return list(session.scalars(select(Ticket).where(Ticket.user_id == found).order_by(Ticket.id)))


def open_ticket(
    session: Session,
    *,
    user_id: str | None,
    subject: str | None,
    comment: str | None,
    now: datetime,
) -> Ticket:
    """Open a ticket whose first thread is the comment; every failure is a 404 form error."""
    errors: dict[str, list[str]] = {}
    member_id = parse_id(user_id)
    user_errors = [BLANK] if _blank(user_id) else []
    if member_id is None or session.get(Member, member_id) is None:
        user_errors.append("user_id doesn't exist.")
    if user_errors:
        errors["user_id"] = user_errors
    if _blank(subject):
        errors["subject"] = [BLANK]
    if _blank(comment):
        errors["comment"] = [BLANK]
    if errors:
        raise form_errors(404, errors)
    assert member_id is not None and subject is not None and comment is not None
    ticket = Ticket(user_id=member_id, subject=subject, status="New", created_at=now)
    session.add(ticket)
    session.flush()
    session.add(TicketThread(ticket_id=ticket.id, content=comment, created_at=now))
    session.flush()
    return ticket


def threads(session: Session, *, ticket_id: str) -> list[TicketThread]:
    """A ticket's conversation by id; 404 when the ticket does not exist."""
    found = parse_id(ticket_id)
    if found is None or session.get(Ticket, found) is None:
        raise form_errors(404, {"ticket_id": ["ticket_id doesn't exist."]})
    return list(
        session.scalars(
            select(TicketThread).where(TicketThread.ticket_id == found).order_by(TicketThread.id)
        )
    )


def add_thread(
    session: Session, *, ticket_id: str | None, content: str | None, now: datetime
) -> TicketThread:
    """Append a message to a ticket; every failure is a 404 form error."""
    errors: dict[str, list[str]] = {}
    found = parse_id(ticket_id)
    ticket_errors = [BLANK] if _blank(ticket_id) else []
    if found is None or session.get(Ticket, found) is None:
        ticket_errors.append("ticket_id doesn't exist.")
    if ticket_errors:
        errors["ticket_id"] = ticket_errors
    if _blank(content):
        errors["content"] = [BLANK]
    if errors:
        raise form_errors(404, errors)
    assert found is not None and content is not None
    thread = TicketThread(ticket_id=found, content=content, created_at=now)
    session.add(thread)
    session.flush()
    return thread


TICKET_STATUSES = ("New", "In Progress", "Closed")


def set_ticket_status(session: Session, *, ticket_id: int, status: str) -> str | None:
    """Operators: move a ticket to New, In Progress or Closed; returns a problem or None."""
    if status not in TICKET_STATUSES:
        return "status must be one of: " + ", ".join(TICKET_STATUSES)
    ticket = row_by_id(session, Ticket, ticket_id)
    if ticket is None:
        return f"no ticket {ticket_id}"
    ticket.status = status
    return None


def add_notice(
    session: Session, *, title: str, content: str, username: str | None, plan: str | None
) -> str | None:
    """Operators: publish a notice; returns a problem or None."""
    notice = Notice(title=title, content=content)
    if username:
        member = session.scalar(select(Member).where(Member.username_key == username.lower()))
        if member is None:
            return f"no member {username!r}"
        notice.user_id = member.id
    if plan:
        found = session.scalar(select(Plan).where(Plan.name == plan))
        if found is None:
            return f"no plan {plan!r}"
        notice.plan_id = found.id
    session.add(notice)
    return None


def add_resource(
    session: Session, *, category_id: int, title: str, description: str, video: str, file: str
) -> str | None:
    """Operators: publish a resource; returns a problem or None."""
    if session.get(CategoryResource, category_id) is None:
        return f"no category {category_id}"
    session.add(
        Resource(
            category_id=category_id, title=title, description=description, video=video, file=file
        )
    )
    return None


def add_category(session: Session, *, title: str, icon: str) -> int:
    """A new resource category; returns its id (the next after the seeded ones)."""
    # The seeded categories carry explicit ids, so a database sequence would not know them.
    top = session.scalar(select(func.max(CategoryResource.id))) or 0
    row = CategoryResource(id=top + 1, title=title, icon=icon)
    session.add(row)
    session.flush()
    return row.id
