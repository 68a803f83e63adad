"""Helpers of the fivesim console tests: posting forms with the session's CSRF token, audit rows."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from tests.console.conftest import csrf_token
from understudy.console.models import AuditEntry
from understudy.context import AppContext

BASE = "/admin/fivesim"


async def post_form(client: httpx.AsyncClient, path: str, data: dict[str, Any]) -> httpx.Response:
    """POST a console form with the session's CSRF token (redirects not followed)."""
    return await client.post(path, data={**data, "csrf_token": await csrf_token(client)})


def audit_rows(ctx: AppContext, action: str) -> list[tuple[str, str, int | None]]:
    """(target, details, operator id) of the audit rows of this action, oldest first."""
    with ctx.db.read() as session:
        rows = session.execute(
            select(AuditEntry.target, AuditEntry.details, AuditEntry.operator_id)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def field_error(page: httpx.Response) -> list[str]:
    """The field error messages a rendered form shows."""
    import re

    return re.findall(r'<div class="invalid-feedback">([^<]*)</div>', page.text)
