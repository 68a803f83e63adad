"""Helpdesk tickets: the support messages the service stores (and forwards to Zendesk)."""

from __future__ import annotations

from typing import Any

from sqladmin import expose
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from understudy.console.nebeus.common import when
from understudy.console.pages import ConsolePage, Pager, not_found, path_id
from understudy.core.db import parse_id, row_by_id
from understudy.core.timers import Timer
from understudy.nebeus.helpdesk import ZENDESK
from understudy.nebeus.models import HelpdeskTicket, Partner, User

PREVIEW = 120


def _search(query: Any, q: str) -> Any:
    if not q:
        return query
    found = or_(
        HelpdeskTicket.email_from.icontains(q, autoescape=True),
        HelpdeskTicket.name.icontains(q, autoescape=True),
        HelpdeskTicket.description.icontains(q, autoescape=True),
    )
    if (ident := parse_id(q.lstrip("#"))) is not None:
        found = or_(found, HelpdeskTicket.id == ident)
    return query.where(found)


def ticket_page(session: Session, pager: Pager) -> list[dict[str, Any]]:
    """Tickets matching the query (sender, subject, text or id), newest first."""
    pager.total = session.scalar(
        select(func.count()).select_from(_search(select(HelpdeskTicket.id), pager.q).subquery())
    )
    rows = session.scalars(
        _search(select(HelpdeskTicket), pager.q)
        .order_by(HelpdeskTicket.id.desc())
        .offset(pager.offset)
        .limit(pager.size)
    )
    return [
        {
            "id": t.id,
            "name": t.name,
            "email": t.email_from,
            "preview": t.description[:PREVIEW] + ("…" if len(t.description) > PREVIEW else ""),
            "state": t.state,
            "created_at": when(t.created_at),
        }
        for t in rows
    ]


def ticket_detail(session: Session, ticket_id: int) -> dict[str, Any] | None:
    """A ticket with the user behind its partner and its Zendesk forwarding, if pending."""
    ticket = row_by_id(session, HelpdeskTicket, ticket_id)
    if ticket is None:
        return None
    user = None
    if ticket.partner_id is not None:
        found = session.execute(
            select(User.id, User.login, Partner.name, Partner.surname)
            .join(Partner, Partner.id == User.partner_id)
            .where(User.partner_id == ticket.partner_id)
            .order_by(User.id)
            .limit(1)
        ).one_or_none()
        if found is not None:
            user = {"id": found[0], "login": found[1], "name": f"{found[2]} {found[3]}".strip()}
    forwarding = session.execute(
        select(Timer.due_at, Timer.attempts, Timer.last_error).where(
            Timer.kind == ZENDESK, Timer.key == str(ticket.id)
        )
    ).one_or_none()
    return {
        "id": ticket.id,
        "name": ticket.name,
        "description": ticket.description,
        "email": ticket.email_from,
        "state": ticket.state,
        "created_at": when(ticket.created_at),
        "user": user,
        "forwarding": (
            {"due_at": when(forwarding[0]), "attempts": forwarding[1], "error": forwarding[2] or ""}
            if forwarding is not None
            else None
        ),
    }


class HelpdeskPage(ConsolePage):
    """The ticket list and ticket pages."""

    name = "Helpdesk tickets"
    category = "nebeus"
    icon = "fa-solid fa-life-ring"

    @expose("/nebeus/helpdesk", methods=["GET"], identity="nebeus-tickets")
    async def ticket_list(self, request: Request) -> Response:
        """Tickets by newest first, searchable."""
        pager = Pager(request)
        rows = await self.read(request, lambda s: ticket_page(s, pager))
        return await self.render(
            request,
            "console/nebeus/tickets.html",
            rows=rows,
            pager=pager,
            title="Helpdesk tickets",
            pretitle="nebeus",
        )

    @expose("/nebeus/helpdesk/{ticket_id:int}", methods=["GET"], identity="nebeus-ticket")
    async def ticket(self, request: Request) -> Response:
        """One ticket's message and sender."""
        ticket_id = path_id(request, "ticket_id", "ticket")
        ticket = await self.read(request, lambda s: ticket_detail(s, ticket_id))
        if ticket is None:
            not_found("ticket")
        return await self.render(
            request,
            "console/nebeus/ticket.html",
            ticket=ticket,
            title=ticket["name"],
            pretitle=f"nebeus ticket #{ticket_id}",
        )
