"""What every fivesim console page shares: its menu category, amount formatting, 404s."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form

from understudy.console.fivesim.money import rub
from understudy.console.fivesim.queries import STATUSES
from understudy.console.pages import ConsolePage

TEMPLATES = "console/fivesim/"


class FivesimPage(ConsolePage):
    """A page of the fivesim menu; templates get `rub(minor)` and the order statuses."""

    category = "fivesim"

    async def show(
        self, request: Request, template: str, *, form: Form | None = None, **context: Any
    ) -> Response:
        """Render one of the fivesim templates."""
        return await self.render(
            request, TEMPLATES + template, form=form, rub=rub, statuses=STATUSES, **context
        )
