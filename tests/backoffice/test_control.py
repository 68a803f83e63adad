"""Operator surface: API keys through the control plane and the CLI, member settings."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import ADMIN
from understudy.backoffice.models import BinaryNode, MatrixNode, Member, Ticket, WalletEntry
from understudy.cli import app
from understudy.context import AppContext
from understudy.core import ledger

runner = CliRunner()


async def test_control_plane_creates_and_revokes_keys(client: httpx.AsyncClient) -> None:
    r = await client.post("/_understudy/backoffice/api-keys", headers=ADMIN)
    assert r.status_code == 200
    key = r.json()["key"]
    assert list(r.json()) == ["key"] and re.fullmatch(r"[0-9a-f]{40}", key)
    r = await client.get("/api/v1/legs", headers={"x-api-key": key})
    assert r.json() == {"error": "Nil JSON web token."}
    r = await client.request(
        "DELETE", "/_understudy/backoffice/api-keys", json={"key": key}, headers=ADMIN
    )
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    r = await client.request(
        "DELETE", "/_understudy/backoffice/api-keys", json={"key": key}, headers=ADMIN
    )
    assert r.status_code == 400 and list(r.json()) == ["error"]
    r = await client.get("/api/v1/legs", headers={"x-api-key": key})
    assert r.json() == {"error": "The API Key is not valid."}


async def test_control_calls_need_the_admin_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/_understudy/backoffice/api-keys")
    assert r.status_code == 401


async def test_keys_survive_a_sandbox_reset(client: httpx.AsyncClient, api_key: str) -> None:
    assert (await client.post("/_understudy/reset", headers=ADMIN)).status_code == 200
    r = await client.get("/api/v1/legs", headers={"x-api-key": api_key})
    assert r.json() == {"error": "Nil JSON web token."}


async def test_member_setting(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    url = "/_understudy/backoffice/settings"
    r = await client.post(
        url, json={"username": "ADMIN", "request_token_on_edit": True}, headers=ADMIN
    )
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert (await client.get("/api/v1/users/1", headers=auth)).json()["request_token_on_edit"]
    r = await client.post(
        url, json={"username": "ghost", "request_token_on_edit": True}, headers=ADMIN
    )
    assert r.status_code == 400 and list(r.json()) == ["error"]


async def test_cli_api_keys(ctx: AppContext, client: httpx.AsyncClient, database_url: str) -> None:
    env = {"UNDERSTUDY_ADMIN_TOKEN": "", "UNDERSTUDY_DATABASE_URL": database_url}
    result = runner.invoke(app, ["backoffice", "api-key", "create", "--label", "mobile"], env=env)
    assert result.exit_code == 0, result.output
    found = re.search(r"API key (\d+): ([0-9a-f]{40})", result.output)
    assert found
    key_id, key = found.groups()
    assert (await client.get("/api/v1/legs", headers={"x-api-key": key})).status_code == 403
    assert (await client.get("/api/v1/legs", headers={"x-api-key": key})).json() == {
        "error": "Nil JSON web token."
    }
    listed = runner.invoke(app, ["backoffice", "api-key", "list"], env=env)
    assert listed.exit_code == 0
    line = next(x for x in listed.output.splitlines() if x.startswith(f"{key_id}\t"))
    assert key[:8] in line and "mobile" in line and "active" in line and key not in line
    revoked = runner.invoke(app, ["backoffice", "api-key", "revoke", key_id], env=env)
    assert revoked.exit_code == 0, revoked.output
    again = runner.invoke(app, ["backoffice", "api-key", "revoke", key_id], env=env)
    assert again.exit_code == 1
    r = await client.get("/api/v1/legs", headers={"x-api-key": key})
    assert r.json() == {"error": "The API Key is not valid."}


async def test_demo_prints_working_credentials(
    ctx: AppContext, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from understudy.backoffice import demo

    monkeypatch.setattr(demo, "DEMO_MEMBERS", 25)  # a smaller organisation than `serve --demo`'s
    info = demo.demo(ctx)
    key = info.lines[0].removeprefix("API key ")
    password = info.lines[1].removeprefix("member admin, password ")
    r = await client.post(
        "/api/v1/login",
        data={"username": "admin", "password": password},
        headers={"x-api-key": key},
    )
    assert r.status_code == 200
    token = r.json()["token"]
    wallet = await client.get(
        "/api/v1/wallets/3?user_id=1&page=1", headers={"x-api-key": key, "jwt-token": token}
    )
    assert wallet.json()["list"][0]["balance"] == "10000.0"
    assert "{base}/api/v1/login" in info.curl
    assert info.lines[2].startswith("25 demo members")
    r = await client.post(
        "/api/v1/login",
        data={"username": "demo7", "password": "demo1234"},
        headers={"x-api-key": key},
    )
    assert r.status_code == 200
    with ctx.db.read() as session:
        members = session.scalar(select(func.count()).select_from(Member))
        assert members == 26
        placed = session.scalar(select(func.count()).select_from(BinaryNode))
        tanked = session.scalar(
            select(func.count()).select_from(Member).where(Member.binary_state != "placed")
        )
        assert placed + tanked == 26
        assert session.scalar(select(func.count()).select_from(MatrixNode)) == 26
        commissions = session.scalar(
            select(func.count()).select_from(WalletEntry).where(WalletEntry.wallet_id == 5)
        )
        assert commissions and commissions > 10
        assert session.scalar(select(func.count()).select_from(Ticket)) == 12
        assert ledger.verify(session) == []
    again = demo.demo(ctx)  # a second start keeps the organisation
    assert again.lines[1] == info.lines[1]
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 26
