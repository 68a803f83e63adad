"""nebeus console test helpers: users with KYC items waiting, their dashboard, console forms."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from typing import Any

import httpx
from sqlalchemy import select

from tests.console.conftest import csrf_token
from tests.nebeus.helpers import rpc
from tests.nebeus.test_loans import new_user
from understudy.console.models import AuditEntry
from understudy.context import AppContext
from understudy.nebeus.models import User, Verification

UPLOAD = "/verification/upload/1.0/json"
DASHBOARD = "/partner/dashboard"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
PDF = base64.b64encode(b"%PDF-1.4\n%console test\n").decode()


async def user_with_pending(
    client: httpx.AsyncClient, ctx: AppContext, login: str, *uploads: tuple[str, str]
) -> str:
    """Sign a user up (session made directly) and upload (item, base64 document) pairs."""
    sid = await new_user(client, ctx, login)
    for item, document in uploads:
        answer = await rpc(client, UPLOAD, {"item": item, "document": document}, session=sid)
        assert answer == {"status": "success"}, answer
    return sid


async def dashboard(client: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    """The user's /partner/dashboard through the JSON-RPC API."""
    body = await rpc(client, DASHBOARD, session=sid)
    assert isinstance(body, dict)
    return body


def user_id(ctx: AppContext, login: str) -> int:
    """A user's id by login."""
    with ctx.db.read() as s:
        return int(s.scalars(select(User.id).where(User.login == login)).one())


def item_id(ctx: AppContext, login: str, item: str) -> int:
    """The id of a user's KYC item row."""
    with ctx.db.read() as s:
        return int(
            s.scalars(
                select(Verification.id)
                .join(User, User.id == Verification.user_id)
                .where(User.login == login, Verification.item == item)
            ).one()
        )


def audit_rows(ctx: AppContext, action: str) -> list[AuditEntry]:
    """Audit entries of that action, oldest first."""
    with ctx.db.read() as s:
        return list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        )


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, Any] | None = None
) -> httpx.Response:
    """POST a console form with the session's CSRF token."""
    token = await csrf_token(client)
    return await client.post(path, data={"csrf_token": token, **(data or {})})


def field_error(page: str, message: str) -> bool:
    """Whether the page shows that message as a field error (next to its field)."""
    return re.search(r'class="invalid-feedback">\s*' + re.escape(message), page) is not None


class _Text(HTMLParser):
    """The text inside the element with a given id (nested tags included)."""

    VOID = frozenset({"br", "img", "input", "hr", "meta", "link"})

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.depth = 0
        self.parts: list[str] = []
        self.found = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.element_id and not self.found:
            self.depth, self.found = 1, True

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in self.VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_of(page: str, element_id: str) -> str | None:
    """The whitespace-normalised text of the element with that id (None when absent)."""
    parser = _Text(element_id)
    parser.feed(page)
    return " ".join("".join(parser.parts).split()) if parser.found else None
