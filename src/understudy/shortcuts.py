"""Answers served before the framework's routing, for the few requests that can skip it.

A service may name shortcuts: a method, a path pattern and an `answer` function that returns a
complete response when it can give one cheaply (for instance a poll whose answer is already
cached) or None, and then the request takes the normal route, dependencies and all. A shortcut
must answer exactly what the normal route would; it only saves the framework's work.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from understudy.context import AppContext

log = logging.getLogger(__name__)

# Where a shortcut leaves (service, route template) for metrics and the access log.
ROUTE_KEY = "understudy.shortcut_route"


@dataclass(frozen=True)
class Shortcut:
    """One request shape that may be answered ahead of routing."""

    method: str
    pattern: re.Pattern[str]
    route: str  # the template of the normal route, as metrics name it
    answer: Callable[[AppContext, Scope, re.Match[str]], Awaitable[Response | None]]


class ShortcutMiddleware:
    """Pure ASGI: try the matching shortcut; when it declines, run the app as usual."""

    def __init__(
        self, app: ASGIApp, ctx: AppContext, shortcuts: dict[str, tuple[Shortcut, ...]]
    ) -> None:
        self.app = app
        self.ctx = ctx
        self.by_method: dict[str, list[tuple[str, Shortcut]]] = {}
        for service, owned in shortcuts.items():
            for shortcut in owned:
                self.by_method.setdefault(shortcut.method, []).append((service, shortcut))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] == "http":
            for service, shortcut in self.by_method.get(scope["method"], ()):
                match = shortcut.pattern.fullmatch(scope["path"])
                if match is None:
                    continue
                try:
                    answer = await shortcut.answer(self.ctx, scope, match)
                except Exception:
                    log.exception("shortcut for %s failed; taking the normal route", shortcut.route)
                    answer = None
                if answer is not None:
                    scope[ROUTE_KEY] = (service, shortcut.route)
                    await send(
                        {
                            "type": "http.response.start",
                            "status": answer.status_code,
                            "headers": answer.raw_headers,
                        }
                    )
                    await send({"type": "http.response.body", "body": answer.body})
                    return
                break
        await self.app(scope, receive, send)
