"""Support tickets (Odoo crm.helpdesk), forwarded to Zendesk when configured."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.core import timers
from understudy.nebeus import outbound
from understudy.nebeus.models import HelpdeskTicket, Partner
from understudy.nebeus.settings import get_settings

log = logging.getLogger(__name__)
ZENDESK = "nebeus.zendesk"


def open_ticket(
    session: Session, *, email: str, name: str, message: str, now: datetime
) -> HelpdeskTicket:
    """Store a draft ticket and, if Zendesk is configured, schedule its forwarding."""
    partner_id = session.scalar(
        select(Partner.id).where(Partner.email == email.lower()).order_by(Partner.id).limit(1)
    )
    ticket = HelpdeskTicket(
        name=f"Message from {name}"[:500],
        description=message,
        email_from=email,
        partner_id=partner_id,
        state="draft",
        created_at=now,
    )
    session.add(ticket)
    session.flush()
    settings = get_settings()
    if settings.zendesk_subdomain and settings.zendesk_email and settings.zendesk_token:
        timers.schedule(
            session,
            kind=ZENDESK,
            key=str(ticket.id),
            due_at=now,
            payload={"subject": ticket.name, "body": message, "name": name, "email": email},
        )
    return ticket


def zendesk_post(url: str, *, auth: tuple[str, str], json: dict[str, Any]) -> int:
    """POST to Zendesk; returns the HTTP status (replaced in tests)."""
    return httpx.post(url, auth=auth, json=json, timeout=10).status_code


@outbound.handoff(ZENDESK)
def _forward(
    session: Session, *, key: str, payload: dict[str, Any], now: datetime
) -> outbound.Job | None:
    """Create the Zendesk ticket after commit; anything but 201 is retried with backoff."""
    settings = get_settings()
    if not (settings.zendesk_subdomain and settings.zendesk_email and settings.zendesk_token):
        return None
    url = f"https://{settings.zendesk_subdomain}.zendesk.com/api/v2/tickets.json"
    auth = (f"{settings.zendesk_email}/token", settings.zendesk_token)
    body = {
        "ticket": {
            "subject": payload["subject"],
            "comment": {"body": payload["body"]},
            "requester": {"name": payload["name"], "email": payload["email"]},
        }
    }

    def send() -> None:
        status = zendesk_post(url, auth=auth, json=body)
        if status != 201:
            raise RuntimeError(f"Zendesk answered {status} for ticket {key}")

    return outbound.Job(send=send)
