"""Every console route, enumerated from the app, refuses anyone without a live operator session.

Anonymous and expired/revoked sessions are redirected (302) to the login page; an unsafe method
without the session's CSRF token is refused with 403 before anything else happens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount, Route

from tests.console.conftest import csrf_token, log_in
from understudy.console import auth, operators
from understudy.context import AppContext

PREFIX = "/admin"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Pages anyone may fetch: the login form itself and the static assets it needs.
PUBLIC = {("GET", "/admin/login"), ("HEAD", "/admin/login")}
PUBLIC_MOUNTS = {"/admin/statics"}
SAMPLE = {"identity": "audit", "pk": "1", "export_type": "csv", "column_name": "id", "path": "x"}


@dataclass(frozen=True)
class Call:
    method: str
    template: str

    @property
    def path(self) -> str:
        return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE.get(m.group(1), "1"), self.template)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _routes(routes: list[object], prefix: str) -> Iterator[tuple[str, object]]:
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        full = prefix + path
        if isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if full in PUBLIC_MOUNTS:
                yield full, route
            elif inner is not None:
                yield from _routes(inner, full)
            else:
                yield full, route
        else:
            yield full, route


def console_calls(app: FastAPI) -> list[Call]:
    """(method, template) of every console route, read from the application's routing table."""
    calls = []
    for template, route in _routes(app.routes, ""):
        if template != PREFIX and not template.startswith(PREFIX + "/"):
            continue
        if template in PUBLIC_MOUNTS:
            continue
        assert isinstance(route, Route), f"unexpected console route {template}: {route!r}"
        for method in sorted(route.methods or {"GET"}):
            if (method, template) not in PUBLIC:
                calls.append(Call(method, template))
    return calls


def test_the_enumeration_finds_the_console(app: FastAPI) -> None:
    found = {str(c) for c in console_calls(app)}
    for expected in (
        "GET /admin/",
        "GET /admin/{identity}/list",
        "GET /admin/{identity}/details/{pk:path}",
        "POST /admin/login",
        "DELETE /admin/{identity}/delete",
        "GET /admin/logout",
    ):
        assert expected in found
    assert len(found) >= 15


def _is_login_redirect(answer: httpx.Response) -> bool:
    return answer.status_code == 302 and answer.headers["location"].endswith("/admin/login")


async def _refusals(client: httpx.AsyncClient, app: FastAPI, *, with_token: bool) -> list[str]:
    """Calls that were not refused: safe ones must redirect to login, unsafe ones too with the
    session's token (login itself answers 400 to an empty form), and 403 without it."""
    wrong = []
    for call in console_calls(app):
        token = await csrf_token(client) if with_token and call.method in UNSAFE else None
        headers = {"X-CSRF-Token": token} if token else {}
        answer = await client.request(call.method, call.path, headers=headers)
        if call.method in UNSAFE and token is None:
            ok = answer.status_code == 403
        elif call == Call("POST", "/admin/login"):
            ok = answer.status_code == 400 and "Invalid credentials" in answer.text
        else:
            ok = _is_login_redirect(answer)
        if not ok:
            wrong.append(f"{call}: {answer.status_code}")
    return wrong


async def test_anonymous_reaches_nothing(client: httpx.AsyncClient, app: FastAPI) -> None:
    assert await _refusals(client, app, with_token=False) == []
    assert await _refusals(client, app, with_token=True) == []


async def test_public_pages_are_only_login_and_assets(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/login")).status_code == 200
    assert (await client.get("/admin/statics/css/main.css")).status_code == 200


async def test_wrong_password_opens_no_session(
    client: httpx.AsyncClient, app: FastAPI, operator: int
) -> None:
    answer = await log_in(client, password="not the password at all")
    assert answer.status_code == 400 and "Invalid credentials" in answer.text
    assert await _refusals(client, app, with_token=True) == []


async def test_an_operator_reaches_every_page(signed_in: httpx.AsyncClient, app: FastAPI) -> None:
    for call in console_calls(app):
        if call.method not in ("GET", "HEAD") or call.template == "/admin/logout":
            continue
        answer = await signed_in.request(call.method, call.path)
        assert not _is_login_redirect(answer), call
        assert answer.status_code in (200, 302, 403, 404), (call, answer.status_code)


async def test_ids_that_name_no_row_are_answered_not_crashed(
    signed_in: httpx.AsyncClient, app: FastAPI
) -> None:
    """Every `{x:int}` route, read and posted with a valid token, for ids past 32 bits."""
    calls = [c for c in console_calls(app) if ":int}" in c.template and c.method != "HEAD"]
    assert len(calls) >= 10, calls
    for call in calls:
        for ident in ("0", str(2**31), "9" * 40):
            path = re.sub(r"\{\w+:int\}", ident, call.template)
            token = await csrf_token(signed_in) if call.method in UNSAFE else None
            headers = {"X-CSRF-Token": token} if token else {}
            answer = await signed_in.request(call.method, path, headers=headers)
            assert answer.status_code in (303, 400, 404), (call, ident, answer.status_code)


async def test_csrf_token_missing_or_wrong_is_refused(
    signed_in: httpx.AsyncClient, app: FastAPI
) -> None:
    for call in console_calls(app):
        if call.method not in UNSAFE:
            continue
        for headers in ({}, {"X-CSRF-Token": "wrong"}):
            answer = await signed_in.request(call.method, call.path, headers=headers)
            assert answer.status_code == 403, (call, headers)
            assert "CSRF" in answer.text
        form = await signed_in.request(call.method, call.path, data={"csrf_token": "wrong"})
        assert form.status_code == 403, call
    assert (await signed_in.get("/admin/")).status_code == 200  # still signed in


@pytest.mark.parametrize("expiry", ["idle", "absolute"])
async def test_expired_sessions_reach_nothing(
    signed_in: httpx.AsyncClient,
    app: FastAPI,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
    expiry: str,
) -> None:
    start = auth.now()
    idle, lifetime = ctx.settings.console_idle_timeout, ctx.settings.console_session_lifetime
    if expiry == "idle":
        monkeypatch.setattr(auth, "now", lambda: start + idle - 5)
        assert (await signed_in.get("/admin/")).status_code == 200
        monkeypatch.setattr(auth, "now", lambda: start + 2 * idle)
    else:
        # Active all along (never idle), yet over the absolute lifetime.
        moment = start
        while moment < start + lifetime - idle:
            moment += idle - 5
            monkeypatch.setattr(auth, "now", lambda m=moment: m)
            assert (await signed_in.get("/admin/")).status_code == 200
        monkeypatch.setattr(auth, "now", lambda: start + lifetime + 1)
    assert await _refusals(signed_in, app, with_token=True) == []


@pytest.mark.parametrize("change", ["disable", "set_password"])
async def test_disabled_or_new_password_ends_the_session(
    signed_in: httpx.AsyncClient, app: FastAPI, ctx: AppContext, change: str
) -> None:
    assert (await signed_in.get("/admin/")).status_code == 200
    with ctx.db.write() as session:
        if change == "disable":
            operators.disable(session, "alice")
        else:
            operators.set_password(session, "ALICE", "another long password")
    assert await _refusals(signed_in, app, with_token=True) == []
