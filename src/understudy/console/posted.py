"""The form a console page parsed from its request, closed when the request ends."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.types import ASGIApp, Receive, Scope, Send

FORM_STATE = "console_form"  # request.state key of the parsed form (see ConsolePage.posted)


class ClosePostedForms:
    """Pure ASGI: after a console request, close the form its page parsed (uploads' temp files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        try:
            await self.app(scope, receive, send)
        finally:
            form = scope.get("state", {}).get(FORM_STATE)
            if isinstance(form, FormData):
                await form.close()
