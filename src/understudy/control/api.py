"""The pinned kernel control calls: reset, clock, mail."""

from __future__ import annotations

import math

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, field_validator

from understudy.context import ContextDep
from understudy.control.auth import CONTROL_RESPONSES, PREFIX, AdminDep, StatusBody
from understudy.control.reset import wipe_and_seed
from understudy.core.clock import rfc3339
from understudy.core.mail import list_mail
from understudy.core.timers import drain_due

router = APIRouter(prefix=PREFIX, tags=["sandbox"], responses=CONTROL_RESPONSES)


class ClockBody(BaseModel):
    """When the sandbox thinks it is."""

    now: str = Field(description="RFC 3339 UTC", examples=["2026-11-22T10:00:00.000000Z"])


class AdvanceBody(BaseModel):
    """How far to move the clock forward."""

    advance: float = Field(ge=0, description="seconds, may be fractional")

    @field_validator("advance")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value) or value > 100 * 365 * 86400:
            raise ValueError("must be a finite number of seconds up to 100 years")
        return value


class MailMessage(BaseModel):
    """One message the services sent."""

    to: str
    subject: str
    body: str
    sent_at: str


class MailBody(BaseModel):
    """Every message in the outbox, oldest first."""

    messages: list[MailMessage]


@router.post("/reset", response_model=StatusBody)
async def reset(request: Request, ctx: ContextDep, _: AdminDep) -> StatusBody:
    """Wipe all data, re-seed reference data and fixed rows; id sequences restart."""
    await to_thread.run_sync(wipe_and_seed, ctx, request.app.state.services)
    return StatusBody()


@router.get("/clock", response_model=ClockBody)
async def get_clock(ctx: ContextDep, _: AdminDep) -> ClockBody:
    """The sandbox's current time."""

    def read() -> str:
        with ctx.db.read() as session:
            return rfc3339(ctx.now(session))

    return ClockBody(now=await to_thread.run_sync(read))


@router.post("/clock", response_model=ClockBody)
async def advance_clock(body: AdvanceBody, ctx: ContextDep, _: AdminDep) -> ClockBody:
    """Move the clock forward and run every timer that became due before answering."""

    def advance() -> str:
        with ctx.db.write() as session:
            ctx.clock.advance(session, body.advance)
        drain_due(ctx.db, ctx.clock.now)
        with ctx.db.read() as session:
            return rfc3339(ctx.now(session))

    # Inline on SQLite: the due timers run in one go, not in a thread that requests queue behind.
    return ClockBody(now=await ctx.db.run_exclusive(advance))


@router.get("/mail", response_model=MailBody)
async def mail(
    ctx: ContextDep,
    _: AdminDep,
    # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the query.
    to: str | None = Query(default=None, description="recipient", pattern=r"^[^\x00]*$"),
) -> MailBody:
    """Messages the services sent (delivered over SMTP or not), oldest first."""

    def read() -> MailBody:
        with ctx.db.read() as session:
            rows = list_mail(session, to=to)
            return MailBody(
                messages=[
                    MailMessage(
                        to=r.to, subject=r.subject, body=r.body, sent_at=rfc3339(r.queued_at)
                    )
                    for r in rows
                ]
            )

    return await to_thread.run_sync(read)
