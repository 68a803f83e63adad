"""Support tickets: a list filtered by state or member, each ticket's thread with a reply form,
and the state change operators make (New, In Progress, Closed)."""

from __future__ import annotations

from typing import Any

from sqladmin import expose
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from understudy.backoffice import content
from understudy.backoffice.errors import BackofficeError
from understudy.backoffice.models import Member, Ticket, TicketThread
from understudy.console.backoffice.forms import CONTROL, no_nul
from understudy.console.pages import ConsolePage, FormError, Pager, context
from understudy.core.db import parse_id, row_by_id

REPLY_LIMIT = 20_000


class ReplyForm(Form):
    content = TextAreaField(
        "Reply",
        validators=[DataRequired("A reply can't be blank."), Length(max=REPLY_LIMIT), no_nul],
        render_kw={**CONTROL, "rows": 4},
        description="Sent to the member as a new message of the thread (stored verbatim).",
    )


class StateForm(Form):
    status = SelectField(
        "State",
        choices=[(s, s) for s in content.TICKET_STATUSES],
        render_kw={"class": "form-select"},
    )


def ticket_list(
    session: Session, pager: Pager, *, state: str | None, member_id: int | None
) -> list[dict[str, Any]]:
    """One page of tickets, newest first, with their member and number of messages."""
    where: list[Any] = []
    if state:
        where.append(Ticket.status == state)
    if member_id is not None:
        where.append(Ticket.user_id == member_id)
    if pager.q:
        where.append(func.lower(Ticket.subject).contains(pager.q.lower(), autoescape=True))
    pager.total = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    messages = (
        select(func.count())
        .select_from(TicketThread)
        .where(TicketThread.ticket_id == Ticket.id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.subject,
            Ticket.status,
            Ticket.created_at,
            Ticket.user_id,
            Member.username,
            messages.label("messages"),
        )
        .join(Member, Member.id == Ticket.user_id)
        .where(*where)
        .order_by(Ticket.id.desc())
        .offset(pager.offset)
        .limit(pager.size)
    ).all()
    return [row._asdict() for row in rows]


def ticket_thread(session: Session, ticket_id: int) -> dict[str, Any] | None:
    """A ticket, its member and its messages oldest first."""
    ticket = row_by_id(session, Ticket, ticket_id)
    if ticket is None:
        return None
    member = session.get(Member, ticket.user_id)
    return {
        "ticket": {
            "id": ticket.id,
            "subject": ticket.subject,
            "status": ticket.status,
            "created_at": ticket.created_at,
        },
        "member": {"id": ticket.user_id, "username": member.username if member else "?"},
        "threads": [
            {"id": t.id, "content": t.content, "created_at": t.created_at}
            for t in content.threads(session, ticket_id=str(ticket.id))
        ],
    }


def _refusal(exc: BackofficeError) -> str:
    errors = exc.body.get("errors")
    if isinstance(errors, dict):
        return "; ".join(m for messages in errors.values() for m in messages)
    return str(exc.body.get("error", "refused"))


class TicketsPage(ConsolePage):
    """Support tickets and their threads."""

    name = "Tickets"
    category = "backoffice"
    icon = "fa-solid fa-life-ring"

    @expose("/backoffice/tickets", identity="backoffice-tickets")
    async def tickets(self, request: Request) -> Response:
        """Tickets, newest first, filtered by state and member."""
        pager = Pager(request, size=50)
        state = request.query_params.get("state", "")
        state = state if state in content.TICKET_STATUSES else ""
        member_id = parse_id(request.query_params.get("member"))
        rows = await self.read(
            request,
            lambda s: ticket_list(s, pager, state=state or None, member_id=member_id),
        )
        here = self.url(request, "backoffice-tickets")
        return await self.render(
            request,
            "console/backoffice/tickets.html",
            title="Tickets",
            pretitle="backoffice",
            rows=rows,
            pager=pager,
            state=state,
            states=content.TICKET_STATUSES,
            member_id=member_id,
            here=here,
            ticket_url=lambda ticket_id: self.url(
                request, "backoffice-ticket", ticket_id=ticket_id
            ),
            member_url=lambda member_id: self.url(
                request, "backoffice-member", member_id=member_id
            ),
        )

    @expose(
        "/backoffice/tickets/{ticket_id:int}",
        methods=["GET", "POST"],
        identity="backoffice-ticket",
    )
    async def ticket(self, request: Request) -> Response:
        """A ticket's thread; POST adds an operator reply to it."""
        ticket_id = request.path_params["ticket_id"]
        form = await self.form(request, ReplyForm)
        if request.method == "POST" and form.validate():
            reply = form.content.data

            def work(session: Session) -> int:
                try:
                    thread = content.add_thread(
                        session,
                        ticket_id=str(ticket_id),
                        content=reply,
                        now=context(request).now(session),
                    )
                except BackofficeError as exc:
                    raise FormError(_refusal(exc), "content") from None
                return thread.id

            try:
                await self.change(
                    request,
                    "backoffice.ticket_reply",
                    f"backoffice ticket {ticket_id}",
                    work,
                    lambda thread_id: {"thread_id": thread_id, "length": len(reply)},
                )
            except FormError as exc:
                exc.attach(form)
            else:
                url = self.url(request, "backoffice-ticket", ticket_id=ticket_id)
                return self.done(request, "Reply sent", url)
        return await self.show(request, ticket_id, reply_form=form)

    @expose(
        "/backoffice/tickets/{ticket_id:int}/state",
        methods=["POST"],
        identity="backoffice-ticket-state",
    )
    async def state(self, request: Request) -> Response:
        """Move a ticket to New, In Progress or Closed."""
        ticket_id = request.path_params["ticket_id"]
        form = await self.form(request, StateForm)
        if form.validate():
            status = form.status.data

            def work(session: Session) -> None:
                problem = content.set_ticket_status(session, ticket_id=ticket_id, status=status)
                if problem:
                    raise FormError(problem, "status")

            try:
                await self.change(
                    request,
                    "backoffice.ticket_state",
                    f"backoffice ticket {ticket_id}",
                    work,
                    {"status": status},
                )
            except FormError as exc:
                exc.attach(form)
            else:
                url = self.url(request, "backoffice-ticket", ticket_id=ticket_id)
                return self.done(request, f"Ticket {ticket_id} is {status}", url)
        return await self.show(request, ticket_id, state_form=form)

    async def show(
        self,
        request: Request,
        ticket_id: int,
        *,
        reply_form: ReplyForm | None = None,
        state_form: StateForm | None = None,
    ) -> Response:
        """The ticket page with its forms (errors shown, 400), or 404."""
        found = await self.read(request, lambda s: ticket_thread(s, ticket_id))
        if found is None:
            return await self.render(
                request,
                "console/backoffice/not_found.html",
                status_code=404,
                title="No such ticket",
                pretitle="backoffice",
                what=f"ticket {ticket_id}",
            )
        reply_form = reply_form or ReplyForm()
        state_form = state_form or StateForm(status=found["ticket"]["status"])
        failed = any(f.errors or getattr(f, "form_errors", None) for f in (reply_form, state_form))
        return await self.render(
            request,
            "console/backoffice/ticket.html",
            status_code=400 if failed else 200,
            title=found["ticket"]["subject"],
            pretitle=f"backoffice ticket {ticket_id}",
            reply_form=reply_form,
            state_form=state_form,
            reply_url=self.url(request, "backoffice-ticket", ticket_id=ticket_id),
            state_url=self.url(request, "backoffice-ticket-state", ticket_id=ticket_id),
            list_url=self.url(request, "backoffice-tickets"),
            member_url=self.url(request, "backoffice-member", member_id=found["member"]["id"]),
            **found,
        )
