"""Routes for notices, products, resources, tickets and threads (included by api.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from understudy.backoffice import content, service
from understudy.backoffice.deps import MemberDep, asset_host, read, write
from understudy.backoffice.schemas import (
    AUTHENTICATED,
    BAD_BODY,
    Message,
    NoticesAnswer,
    ProductsAnswer,
    RailsError,
    RailsFormErrors,
    ResourceList,
    ThreadList,
    TicketList,
    doc,
    form_body,
)
from understudy.backoffice.settings import get_settings
from understudy.backoffice.wire import RailsRoute, rails_time, read_params, render, text_param
from understudy.context import ContextDep

router = APIRouter(route_class=RailsRoute)
USER_404 = {404: doc(RailsError, "User not found.")}


def _url(host: str, path: str) -> str:
    if not path or path.startswith(("http://", "https://")):
        return path
    return f"{host}/{path.lstrip('/')}"


@router.get(
    "/notices/{id}",
    response_model=None,
    responses={200: doc(NoticesAnswer, "The member's notices"), **USER_404, **AUTHENTICATED},
)
async def notices(id: str, ctx: ContextDep, _: MemberDep) -> Response:
    """Notices for everyone, for this member and for the member's current plan."""

    def work(session: Session) -> dict[str, Any]:
        member = service.get_member(session, user_id=id)
        general, own, plan = content.notices(session, member=member)
        return {
            key: [{"id": n.id, "title": n.title, "content": n.content} for n in rows]
            for key, rows in (
                ("general_notices", general),
                ("user_notices", own),
                ("plan_notices", plan),
            )
        }

    return render(await read(ctx, work))


@router.get(
    "/products/{id}",
    response_model=None,
    responses={
        200: doc(ProductsAnswer, "The member's plan purchases"),
        **USER_404,
        **AUTHENTICATED,
    },
)
async def products(request: Request, id: str, ctx: ContextDep, _: MemberDep) -> Response:
    """The plans the member bought."""
    host = asset_host(request)

    def work(session: Session) -> dict[str, Any]:
        member = service.get_member(session, user_id=id)
        return {
            "plans": [
                {
                    "id": purchase.id,
                    "plan": plan.name,
                    "image": f"{host}/uploads/plan/plan_image/{plan.id}/{plan.image}",
                    "price": purchase.price / 100,
                    "currency": plan.currency,
                }
                for purchase, plan in content.products(session, member=member)
            ]
        }

    return render(await read(ctx, work))


@router.get(
    "/resources/{category_id}",
    response_model=None,
    responses={
        200: doc(ResourceList, "The category's resources"),
        404: doc(RailsFormErrors, "category_id doesn't exist."),
        **AUTHENTICATED,
    },
)
async def resources(request: Request, category_id: str, ctx: ContextDep, _: MemberDep) -> Response:
    """Downloadable resources of one category."""
    host = asset_host(request)

    def work(session: Session) -> list[dict[str, Any]]:
        return [
            {
                "id": r.id,
                "title": r.title,
                "description": r.description,
                "video": r.video or "",
                "file": _url(host, r.file),
            }
            for r in content.resources(session, category_id=category_id)
        ]

    return render({"list": await read(ctx, work)})


@router.get(
    "/user_tickets/{user_id}",
    response_model=None,
    responses={
        200: doc(TicketList, "The member's tickets"),
        404: doc(RailsFormErrors, "user_id doesn't exist."),
        **AUTHENTICATED,
    },
)
async def tickets(user_id: str, ctx: ContextDep, _: MemberDep) -> Response:
    """A member's support tickets."""
    zone = get_settings().zone

    def work(session: Session) -> list[dict[str, Any]]:
        return [
            {
                "id": t.id,
                "subject": t.subject,
                "created_at": rails_time(t.created_at, zone),
                "status": t.status,
            }
            for t in content.tickets(session, user_id=user_id)
        ]

    return render({"list": await read(ctx, work)})


@router.post(
    "/user_tickets",
    response_model=None,
    responses={
        200: doc(Message, "Ticket created successfully."),
        404: doc(RailsFormErrors, "Missing or unknown fields"),
        **AUTHENTICATED,
        **BAD_BODY,
    },
    openapi_extra=form_body("user_id", "subject", "comment"),
)
async def open_ticket(request: Request, ctx: ContextDep, _: MemberDep) -> Response:
    """Open a ticket; the comment becomes its first thread."""
    params = await read_params(request)

    def work(session: Session) -> None:
        content.open_ticket(
            session,
            user_id=text_param(params, "user_id"),
            subject=text_param(params, "subject"),
            comment=text_param(params, "comment"),
            now=ctx.now(session),
        )

    await write(ctx, work)
    return render({"message": "Ticket created successfully."})


@router.get(
    "/threads/{ticket_id}",
    response_model=None,
    responses={
        200: doc(ThreadList, "The ticket's conversation"),
        404: doc(RailsFormErrors, "ticket_id doesn't exist."),
        **AUTHENTICATED,
    },
)
async def threads(ticket_id: str, ctx: ContextDep, _: MemberDep) -> Response:
    """A ticket's messages, oldest first."""
    zone = get_settings().zone

    def work(session: Session) -> list[dict[str, Any]]:
        return [
            {"id": t.id, "content": t.content, "created_at": rails_time(t.created_at, zone)}
            for t in content.threads(session, ticket_id=ticket_id)
        ]

    return render({"list": await read(ctx, work)})


@router.post(
    "/threads",
    response_model=None,
    responses={
        200: doc(Message, "Ticket thread created successfully."),
        404: doc(RailsFormErrors, "Missing or unknown fields"),
        **AUTHENTICATED,
        **BAD_BODY,
    },
    openapi_extra=form_body("ticket_id", "content"),
)
async def add_thread(request: Request, ctx: ContextDep, _: MemberDep) -> Response:
    """Reply on a ticket."""
    params = await read_params(request)

    def work(session: Session) -> None:
        content.add_thread(
            session,
            ticket_id=text_param(params, "ticket_id"),
            content=text_param(params, "content"),
            now=ctx.now(session),
        )

    await write(ctx, work)
    return render({"message": "Ticket thread created successfully."})
