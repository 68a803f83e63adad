"""The Odoo-style JSON-RPC envelope: routes, sessions, batches, business and framework errors."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from fastapi import APIRouter
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from understudy.context import AppContext
from understudy.nebeus.errors import HTTP_TYPE_TEXT, is_json_request, odoo_error
from understudy.nebeus.models import User, WebSession

log = logging.getLogger(__name__)

COOKIE = "session_id"
COOKIE_MAX_AGE = 90 * 24 * 3600
SESSION_IDLE = timedelta(days=7)
TOUCH_EVERY = timedelta(seconds=60)
MAX_BATCH = 50
INVALID_REQUEST = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {"code": -32600, "message": "Invalid Request"},
}

router = APIRouter()


class Failure(Exception):
    """A business error: the transaction rolls back and `result` is the call's answer."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(result.get("message", "error"))
        self.result = result


def error(message: str) -> Failure:
    """`{"status":"error","message"}`."""
    return Failure({"status": "error", "message": message})


def field_error(name: str, message: str) -> Failure:
    """`{"status":"error","field","message"}`."""
    return Failure({"status": "error", "field": name, "message": message})


class SessionExpired(Exception):
    """A user route called without a valid session."""


class NeedsWrite(Exception):
    """A read-only call found it must write after all; it is run again in a write transaction."""


@dataclass
class BatchState:
    """What one HTTP request carries from one batch element to the next."""

    session_id: str | None
    source: str | None
    cookie: str | None = None  # "set" or "clear" once a call changed the session
    alive: bool = False  # the session from the request was found valid


@dataclass
class Call:
    """One JSON-RPC call as a handler sees it, inside its transaction (read-only if `readonly`)."""

    ctx: AppContext
    db: Session
    params: dict[str, Any]
    now: datetime
    request: Request
    state: BatchState
    user: User | None = None
    readonly: bool = False

    def require_write(self) -> None:
        """Declare that this call must write: a read-only attempt is redone as a write."""
        if self.readonly:
            raise NeedsWrite

    @property
    def uid(self) -> int:
        """The signed-in user's id (user routes only)."""
        assert self.user is not None
        return self.user.id

    def start_session(self, user_id: int) -> str:
        """Create a session for this user; the answer sets its cookie."""
        sid = secrets.token_hex(20)
        self.db.add(WebSession(id=sid, user_id=user_id, created_at=self.now, last_seen=self.now))
        self.db.flush()
        self.state.session_id, self.state.cookie = sid, "set"
        return sid

    def end_session(self) -> None:
        """Delete the current session, if any; the answer expires the cookie."""
        if self.state.session_id:
            self.db.execute(delete(WebSession).where(WebSession.id == self.state.session_id))
        self.state.session_id, self.state.cookie = None, "clear"


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class Route:
    """A registered JSON route."""

    path: str
    handler: Handler
    auth: bool
    readonly: bool = False
    activity: bool = True
    slow: bool = False


ROUTES: dict[str, Route] = {}
ACTIVITY_HOOKS: list[Handler] = []


def on_activity(hook: Handler) -> Handler:
    """Run `hook(call)` in every call of a signed-in user on a route that counts as activity.

    On a read-only call the hook must only read, calling `call.require_write()` when it has
    something to record (and throttle that, as the session's once-a-minute touch does).
    """
    ACTIVITY_HOOKS.append(hook)
    return hook


_ANY: dict[str, Any] = {}  # any JSON value
_RPC_RESPONSE = {
    "type": "object",
    "required": ["jsonrpc", "id"],
    "properties": {
        "jsonrpc": {"type": "string", "enum": ["2.0"]},
        "id": _ANY,
        "result": _ANY,
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "data": {"type": "object"},
            },
        },
    },
}
_RESPONSE_SCHEMA = {"oneOf": [_RPC_RESPONSE, {"type": "array", "items": _RPC_RESPONSE}]}


def _request_body(params: dict[str, Any]) -> dict[str, Any]:
    call = {
        "type": "object",
        "properties": {
            "jsonrpc": {"type": "string", "enum": ["2.0"]},
            "method": {"type": "string", "enum": ["call"]},
            "params": {"type": "object", "properties": params},
            "id": {"type": ["integer", "string", "null"]},
        },
    }
    schema = {"oneOf": [call, {"type": "array", "items": call, "minItems": 1, "maxItems": 50}]}
    return {
        "required": True,
        "description": "A call or a batch of calls (`application/json-rpc` is accepted too)",
        "content": {"application/json": {"schema": schema}},
    }


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON-RPC answer (business errors are results; framework errors are "
        "Odoo error objects); an array for a batch",
        "content": {"application/json": {"schema": _RESPONSE_SCHEMA}},
    },
    400: {
        "description": "Invalid JSON, or not a JSON request",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
}


Endpoint = Callable[[Request, Route], Awaitable[Response]]


def route(
    path: str,
    *,
    auth: bool = True,
    params: dict[str, Any] | None = None,
    summary: str = "",
    front: Endpoint | None = None,
    extra_content: dict[str, Any] | None = None,
    extra_responses: dict[int | str, dict[str, Any]] | None = None,
    readonly: bool = False,
    activity: bool = True,
    slow: bool = False,
) -> Callable[[Handler], Handler]:
    """Register `handler(call)` as the JSON route `path` (auth: a valid session is required).

    `front` replaces the plain JSON dispatch (e.g. to accept multipart uploads as well);
    `extra_content` documents its other request media types, `extra_responses` its answers.
    `readonly` runs the handler on a read-only session (no write lock on SQLite); it calls
    `call.require_write()` where it finds it must write after all (and the session's
    once-a-minute touch does the same), which redoes the call in a write transaction.
    `activity`: a signed-in caller's call runs the `on_activity` hooks (chat presence) first.
    `slow` (password hashing, image work) runs the call in a worker thread even on SQLite,
    where quick calls run on the event loop.
    """

    def register(handler: Handler) -> Handler:
        ROUTES[path] = Route(
            path=path,
            handler=handler,
            auth=auth,
            readonly=readonly,
            activity=activity,
            slow=slow,
        )
        serve = front or dispatch

        async def endpoint(request: Request) -> Response:
            return await serve(request, ROUTES[path])

        body = _request_body(params or {})
        body["content"].update(extra_content or {})
        router.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            name=f"nebeus_{handler.__name__}",
            summary=summary or None,
            description=(handler.__doc__ or "") + ("" if auth else " No session needed."),
            responses=RESPONSES | (extra_responses or {}),
            openapi_extra={"requestBody": body},
        )
        return handler

    return register


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def session_source(request: Request) -> tuple[str | None, str | None]:
    """The session id by Odoo's lookup order: query, header, cookie."""
    for source, value in (
        ("query", request.query_params.get("session_id")),
        ("header", request.headers.get("x-openerp-session-id")),
        ("cookie", request.cookies.get(COOKIE)),
    ):
        if value:
            # Not a session id we could have issued (and PostgreSQL text cannot hold NUL).
            if len(value) > 64 or "\x00" in value:
                return None, None
            return value, source
    return None, None


async def dispatch(request: Request, target: Route) -> Response:
    """Answer one HTTP request on a JSON route: a single call or a batch."""
    if not is_json_request(request):
        return PlainTextResponse(HTTP_TYPE_TEXT, status_code=400)
    raw = await request.body()
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        return PlainTextResponse(f"Invalid JSON data: {exc}", status_code=400)
    ctx: AppContext = request.app.state.ctx
    sid, source = session_source(request)
    state = BatchState(session_id=sid, source=source)
    answer: Any
    if isinstance(body, list):
        if not body or len(body) > MAX_BATCH:
            answer = INVALID_REQUEST
        else:
            answer = [await _run_element(ctx, request, target, el, state) for el in body]
    else:
        answer = await _run_element(ctx, request, target, body, state)
    response = JSONResponse(answer)
    _apply_cookie(response, state)
    return response


async def dispatch_params(request: Request, target: Route, params: dict[str, Any]) -> Response:
    """Answer one call whose params did not come in a JSON body (e.g. a multipart upload)."""
    ctx: AppContext = request.app.state.ctx
    sid, source = session_source(request)
    state = BatchState(session_id=sid, source=source)
    answer = await _run_element(ctx, request, target, {"params": params, "id": None}, state)
    response = JSONResponse(answer)
    _apply_cookie(response, state)
    return response


def _apply_cookie(response: Response, state: BatchState) -> None:
    if state.cookie == "clear":
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite=None)  # type: ignore[arg-type]
    elif state.cookie == "set" or (state.source == "cookie" and state.alive):
        response.set_cookie(
            COOKIE,
            state.session_id or "",
            max_age=COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            samesite=None,  # type: ignore[arg-type]
        )


async def _run_element(
    ctx: AppContext, request: Request, target: Route, element: Any, state: BatchState
) -> dict[str, Any]:
    if not isinstance(element, dict):
        return INVALID_REQUEST
    rid = element.get("id")
    debug = bool(getattr(request.app.state, "debug", False))
    params = element.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return odoo_error(
            code=200,
            message="Odoo Server Error",
            name="builtins.TypeError",
            error_message="params must be a JSON object",
            request_id=rid,
        )
    if _has_nul(params):  # PostgreSQL text cannot hold NUL; no value with one is valid
        return odoo_error(
            code=200,
            message="Odoo Server Error",
            name="builtins.ValueError",
            error_message="NUL characters are not allowed",
            request_id=rid,
        )
    try:
        result = await _execute(ctx, request, target, params, state)
    except SessionExpired as exc:
        return odoo_error(
            code=100,
            message="Odoo Session Expired",
            name="openerp.http.SessionExpiredException",
            error_message="Session expired",
            exc=exc,
            request_id=rid,
            debug=debug,
        )
    except Exception as exc:
        log.exception("nebeus call %s failed", target.path)
        return odoo_error(
            code=200,
            message="Odoo Server Error",
            name=f"{type(exc).__module__}.{type(exc).__name__}",
            error_message=str(exc),
            exc=exc,
            request_id=rid,
            debug=debug,
        )
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def _execute(
    ctx: AppContext, request: Request, target: Route, params: dict[str, Any], state: BatchState
) -> Any:
    before = (state.session_id, state.cookie)

    def work(db: Session, readonly: bool = False) -> Any:
        state.session_id, state.cookie = before  # a retried attempt starts afresh
        now = ctx.now(db)
        call = Call(
            ctx=ctx, db=db, params=params, now=now, request=request, state=state, readonly=readonly
        )
        call.user = current_user(db, session_id=state.session_id, now=now, readonly=readonly)
        if call.user is not None and state.cookie is None:
            state.alive = True
        if target.auth and call.user is None:
            raise SessionExpired("Session expired")
        if call.user is not None and target.activity:
            for hook in ACTIVITY_HOOKS:
                hook(call)
        return target.handler(call)

    inline = not target.slow
    try:
        if target.readonly:
            try:
                return await ctx.db.run_read(partial(work, readonly=True), inline=inline)
            except NeedsWrite:
                pass
        return await ctx.db.run_write(work, inline=inline)
    except Failure as failure:
        state.session_id, state.cookie = before
        return failure.result


_SESSION_USER = (  # built once: every call runs it
    select(WebSession, User)
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.id == bindparam("session_id"))
)


def current_user(
    db: Session, *, session_id: str | None, now: datetime, readonly: bool = False
) -> User | None:
    """The active user of a live session (touching it at most once a minute), else None.

    `readonly`: raise NeedsWrite instead of touching the session or deleting an expired one.
    """
    if not session_id:
        return None
    found = db.execute(_SESSION_USER, {"session_id": session_id}).first()
    if found is None:
        return None
    row, user = found
    if now - row.last_seen > SESSION_IDLE:
        if readonly:
            raise NeedsWrite
        db.delete(row)
        return None
    if not user.active:
        return None
    if now - row.last_seen > TOUCH_EVERY:
        if readonly:
            raise NeedsWrite
        row.last_seen = now
    return user
