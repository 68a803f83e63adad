"""What every back office route shares: the auth chain, thread offloading, the asset host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from anyio import to_thread
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session
from starlette.responses import Response

from understudy.backoffice import auth
from understudy.backoffice.settings import get_settings
from understudy.backoffice.wire import render
from understudy.context import AppContext, ContextDep

T = TypeVar("T")

api_key_header = APIKeyHeader(
    name="x-api-key", auto_error=False, description="API key issued by an operator"
)
jwt_header = APIKeyHeader(
    name="jwt-token", auto_error=False, description="JWT returned by POST /api/v1/login"
)


def require_key(ctx: ContextDep, key: Annotated[str | None, Security(api_key_header)]) -> None:
    """Auth step 1: a valid x-api-key."""
    with ctx.db.read() as session:
        auth.check_api_key(session, key=key)


def require_member(
    ctx: ContextDep,
    _: Annotated[None, Depends(require_key)],
    token: Annotated[str | None, Security(jwt_header)],
) -> int:
    """Auth steps 2-8: a valid jwt-token naming an existing member; returns its id."""
    with ctx.db.read() as session:
        return auth.authenticate(session, token=token, now=ctx.now(session)).id


KeyDep = Annotated[None, Depends(require_key)]
MemberDep = Annotated[int, Depends(require_member)]


async def read(ctx: AppContext, work: Callable[[Session], T]) -> T:
    """Run work(session) on a read session in a worker thread."""

    def run() -> T:
        with ctx.db.read() as session:
            return work(session)

    return await to_thread.run_sync(run)


async def write(ctx: AppContext, work: Callable[[Session], T]) -> T:
    """Run work(session) in one retried write transaction in a worker thread."""
    return await to_thread.run_sync(ctx.db.transaction, work)


def asset_host(request: Request) -> str:
    """ASSET_HOST, else the request's scheme and host."""
    configured = get_settings().asset_host
    return configured.rstrip("/") if configured else f"{request.url.scheme}://{request.url.netloc}"


def message(text: str) -> Response:
    """`{"message": text}`."""
    return render({"message": text})
