"""The console's start page: an overview of every enabled service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from understudy.console.pages import ConsolePage


async def render(page: ConsolePage, request: Request) -> Response:
    """The overview page."""
    return await page.render(request, "sqladmin/index.html")
