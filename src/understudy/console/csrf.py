"""CSRF protection for every unsafe request under /admin: a per-session token, checked first."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FIELD = "csrf_token"
HEADER = b"x-csrf-token"
SESSION_KEY = "csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")
REFUSAL = "CSRF token missing or wrong; reload the page and try again."


def ensure_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, created when it has none yet."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


async def _read_body(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


class CsrfMiddleware:
    """Pure ASGI, inside the session middleware: 403 for an unsafe request without the token.

    The token comes from the `X-CSRF-Token` header or the `csrf_token` form field; the body is
    read to find the field and then handed on unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        expected = ensure_token(scope["session"])
        if scope["method"] in UNSAFE_METHODS:
            given = _header(scope, HEADER)
            text = given.decode("latin-1") if given is not None else None
            content_type = _header(scope, b"content-type") or b""
            if text is None and content_type.split(b";")[0].strip().lower() in _FORM_TYPES:
                original = receive
                messages = await _read_body(original)
                receive = _replay(messages, original)
                form_request = Request(scope, _replay(messages, original))
                async with form_request.form() as form:
                    value = form.get(FIELD)
                    text = value if isinstance(value, str) else None
            if text is None or not hmac.compare_digest(text.encode(), expected.encode()):
                await PlainTextResponse(REFUSAL, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)
