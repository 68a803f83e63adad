"""Backoffice console fixtures: the API key and admin token, form posts, audit rows."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.backoffice.conftest import admin_pw, api_key, auth, create, member_id, token  # noqa: F401
from tests.console.conftest import csrf_token
from understudy.console.models import AuditEntry
from understudy.context import AppContext

FIELD_ERROR = re.compile(r'<div class="invalid-feedback">([^<]*)</div>')


async def post(
    client: httpx.AsyncClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> httpx.Response:
    """Post a console form with the session's CSRF token."""
    return await client.post(
        url, data={**(data or {}), "csrf_token": await csrf_token(client)}, **kwargs
    )


def field_errors(page: httpx.Response) -> list[str]:
    """The messages shown next to fields."""
    return [html.unescape(m) for m in FIELD_ERROR.findall(page.text)]


def errors_at(page: httpx.Response, field: str) -> list[str]:
    """The messages shown right after one field's input."""
    pattern = (
        rf'id="{field}"[^>]*>(?:[^<]*</textarea>|(?:\s*<option[^>]*>[^<]*</option>)*\s*</select>)?'
        r'\s*((?:<div class="invalid-feedback">[^<]*</div>\s*)+)'
    )
    found = re.search(pattern, page.text)
    return [] if found is None else [html.unescape(m) for m in FIELD_ERROR.findall(found[1])]


def audited(ctx: AppContext, action: str) -> list[AuditEntry]:
    """The audit rows of an action, oldest first."""
    with ctx.db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()
        session.expunge_all()
        return list(rows)


@pytest.fixture
async def member(
    signed_in: httpx.AsyncClient,
    auth: dict[str, str],  # noqa: F811
    ctx: AppContext,
) -> int:
    """A member signed up under admin through the API (orivera11); returns its id."""
    await create(signed_in, auth)
    return member_id(ctx, "orivera11")
