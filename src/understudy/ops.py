"""Operations surface: health check (metrics and request logs live in observability.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from understudy.context import ContextDep

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Whether the server can reach its database."""

    status: str
    database: str


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database does not answer"}},
)
async def healthz(ctx: ContextDep) -> JSONResponse:
    """200 when the database answers a query, 503 otherwise."""
    try:
        await ctx.db.ping_async()
    except Exception as exc:
        detail = f"error: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", "database": detail}, status_code=503)
    return JSONResponse({"status": "ok", "database": ctx.db.dialect})
