"""What every back office route shares: the auth chain, thread offloading, the asset host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple, TypeVar

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
    key: Annotated[str | None, Security(api_key_header)],
    token: Annotated[str | None, Security(jwt_header)],
) -> int:
    """Auth steps 1-8: a valid x-api-key, then a valid jwt-token naming an existing member.

    Both checks share one read session (and one worker thread); returns the member's id.
    """
    with ctx.db.read() as session:
        auth.check_api_key(session, key=key)
        return auth.authenticate(session, token=token, now=ctx.now(session)).id


KeyDep = Annotated[None, Depends(require_key)]
MemberDep = Annotated[int, Depends(require_member)]


class Credentials(NamedTuple):
    """The two auth headers, checked later inside the route's own session."""

    key: str | None
    token: str | None


async def credentials(
    key: Annotated[str | None, Security(api_key_header)],
    token: Annotated[str | None, Security(jwt_header)],
) -> Credentials:
    """The auth headers, not yet checked: for routes whose only input is a path id, so that
    checking them first inside `read`/`write` answers exactly as `MemberDep` would, with one
    session and one worker thread fewer."""
    return Credentials(key, token)


CredentialsDep = Annotated[Credentials, Depends(credentials)]


def _checked(ctx: AppContext, found: Credentials | None, work: Callable[[Session], T]) -> Any:
    if found is None:
        return work

    def run(session: Session) -> T:
        auth.check_api_key(session, key=found.key)
        auth.authenticate(session, token=found.token, now=ctx.now(session))
        return work(session)

    return run


async def read(
    ctx: AppContext, work: Callable[[Session], T], *, checking: Credentials | None = None
) -> T:
    """Run work(session) on a read session in a worker thread (auth checked first if given)."""
    unit = _checked(ctx, checking, work)

    def run() -> T:
        with ctx.db.read() as session:
            return unit(session)  # type: ignore[no-any-return]

    return await to_thread.run_sync(run)


async def write(
    ctx: AppContext, work: Callable[[Session], T], *, checking: Credentials | None = None
) -> T:
    """Run work(session) in one retried write transaction in a worker thread (auth first)."""
    return await to_thread.run_sync(ctx.db.transaction, _checked(ctx, checking, work))


def asset_host(request: Request) -> str:
    """ASSET_HOST, else the request's scheme and host."""
    configured = get_settings().asset_host
    return configured.rstrip("/") if configured else f"{request.url.scheme}://{request.url.netloc}"


def message(text: str) -> Response:
    """`{"message": text}`."""
    return render({"message": text})
