"""Login, the session cookie, logout, rate limits and the audit rows they leave."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from tests.console.conftest import PASSWORD, USERNAME, csrf_token, log_in
from understudy.app import create_app
from understudy.console import auth
from understudy.console.models import AuditEntry
from understudy.context import AppContext


def _audit(ctx: AppContext) -> list[tuple[str, int | None, str, dict[str, str], str | None]]:
    with ctx.db.read() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(r.action, r.operator_id, r.target, json.loads(r.details), r.ip) for r in rows]


async def test_login_sets_a_strict_httponly_cookie_and_audits(
    client: httpx.AsyncClient, ctx: AppContext, operator: int
) -> None:
    token = await csrf_token(client)
    before = client.cookies.get(auth.COOKIE)
    answer = await client.post(
        "/admin/login",
        data={"username": "ALICE", "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 302
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{auth.COOKIE}=")
    for flag in ("path=/admin", "httponly", "samesite=strict", "Max-Age=43200"):
        assert flag in cookie
    assert "secure" not in cookie.lower()
    assert client.cookies.get(auth.COOKIE) != before  # a new session, not the anonymous one
    assert await csrf_token(client) != token  # and a new CSRF token with it
    assert (await client.get("/admin/")).status_code == 200
    assert _audit(ctx)[-1] == ("login.success", operator, USERNAME, {}, "127.0.0.1")


async def test_secure_cookies_when_configured(ctx: AppContext, operator: int) -> None:
    secure = ctx.settings.model_copy(update={"console_secure_cookies": True})
    ctx.settings = secure
    transport = httpx.ASGITransport(app=create_app(ctx=ctx))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        answer = await log_in(client)
    assert answer.status_code == 302
    assert "; secure" in answer.headers["set-cookie"]


async def test_failed_logins_are_audited_with_their_reason(
    client: httpx.AsyncClient, ctx: AppContext, operator: int
) -> None:
    assert (await log_in(client, password="wrong password!")).status_code == 400
    assert (await log_in(client, username="nobody")).status_code == 400
    with ctx.db.write() as session:
        from understudy.console import operators

        operators.disable(session, USERNAME)
    disabled = await log_in(client)
    assert disabled.status_code == 400 and "Invalid credentials" in disabled.text
    failures = [row for row in _audit(ctx) if row[0] == "login.failure"]
    assert failures == [
        ("login.failure", operator, USERNAME, {"reason": "password"}, "127.0.0.1"),
        ("login.failure", None, "nobody", {"reason": "unknown"}, "127.0.0.1"),
        ("login.failure", operator, USERNAME, {"reason": "disabled"}, "127.0.0.1"),
    ]
    assert (await client.get("/admin/")).status_code == 302


async def test_logout_ends_the_session_and_revokes_its_cookie(
    signed_in: httpx.AsyncClient, ctx: AppContext, operator: int
) -> None:
    stolen = signed_in.cookies.get(auth.COOKIE)
    answer = await signed_in.get("/admin/logout")
    assert answer.status_code == 302 and answer.headers["location"].endswith("/admin/login")
    assert (await signed_in.get("/admin/")).status_code == 302
    signed_in.cookies.set(auth.COOKIE, stolen or "", path="/admin")
    assert (await signed_in.get("/admin/")).status_code == 302  # the copy died with it
    assert _audit(ctx)[-1][:2] == ("logout", operator)


async def test_login_is_rate_limited_per_username(
    client: httpx.AsyncClient, ctx: AppContext, operator: int
) -> None:
    limit = int(ctx.settings.console_login_limit_user.split("/")[0])
    for _ in range(limit):
        assert (await log_in(client, password="guessing wrong")).status_code == 400
    refused = await log_in(client)  # even the right password: the limit is checked first
    assert refused.status_code == 429
    assert auth.TOO_MANY in refused.text
    assert (await client.get("/admin/")).status_code == 302
    other = await log_in(client, username="someone-else")
    assert other.status_code == 400  # other usernames are still checked


async def test_login_is_rate_limited_per_address(
    client: httpx.AsyncClient, ctx: AppContext, operator: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ctx.settings.console_login_limit_ip.endswith("/hour")  # conftest: no window rollover
    limit = int(ctx.settings.console_login_limit_ip.split("/")[0])
    for attempt in range(limit):
        assert (await log_in(client, username=f"user{attempt}")).status_code == 400
    refused = await log_in(client)
    assert refused.status_code == 429 and auth.TOO_MANY in refused.text
    monkeypatch.setattr(auth, "client_ip", lambda request: "192.0.2.7")
    assert (await log_in(client)).status_code == 302  # another address may still try


async def test_a_successful_login_resets_the_username_counter(
    client: httpx.AsyncClient, ctx: AppContext, operator: int
) -> None:
    limit = int(ctx.settings.console_login_limit_user.split("/")[0])
    for _ in range(limit - 1):
        await log_in(client, password="guessing wrong")
    assert (await log_in(client)).status_code == 302
    assert (await log_in(client, password="guessing wrong")).status_code == 400


async def test_a_multipart_form_carries_its_token_too(
    client: httpx.AsyncClient, operator: int
) -> None:
    token = await csrf_token(client)
    fields = {"username": USERNAME, "password": PASSWORD}
    refused = await client.post("/admin/login", data=fields, files={"x": ("x.txt", b"x")})
    assert refused.status_code == 403
    answer = await client.post(
        "/admin/login", data={**fields, "csrf_token": token}, files={"x": ("x.txt", b"x")}
    )
    assert answer.status_code == 302  # the body reached the login form intact
