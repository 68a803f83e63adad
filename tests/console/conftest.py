"""Console fixtures: cheap argon2 parameters, an operator, and a client that can log in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from understudy.config import Settings
from understudy.console import operators
from understudy.console.models import AuditEntry, ConsoleOperator
from understudy.context import AppContext
from understudy.core import passwords

USERNAME = "Alice"
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CHEAP = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with hourly login limits: a minute window could roll over during a
    test and (sliding window counter) let one more attempt through."""
    return settings.model_copy(
        update={"console_login_limit_ip": "20/hour", "console_login_limit_user": "5/hour"}
    )


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2 with tiny parameters: production ones cost ~0.1 s per hash."""
    monkeypatch.setattr(passwords, "_hasher", lambda: _CHEAP)
    yield


@pytest.fixture(autouse=True)
def no_operators(ctx: AppContext) -> None:
    """No operators or audit rows, whether or not a sandbox reset wipes the console's tables."""
    with ctx.db.write() as session:
        session.execute(AuditEntry.__table__.delete())
        session.execute(ConsoleOperator.__table__.delete())


@pytest.fixture
def operator(ctx: AppContext) -> int:
    """An active operator (USERNAME / PASSWORD); returns its id."""
    with ctx.db.write() as session:
        return operators.create(session, USERNAME, PASSWORD).id


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The session's CSRF token, as the login page carries it."""
    page = await client.get("/admin/login")
    assert page.status_code == 200
    found = _CSRF.search(page.text)
    assert found is not None
    return found.group(1)


async def log_in(
    client: httpx.AsyncClient, username: str = USERNAME, password: str = PASSWORD
) -> httpx.Response:
    """Post the login form with the session's CSRF token."""
    token = await csrf_token(client)
    return await client.post(
        "/admin/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, operator: int) -> httpx.AsyncClient:
    """The client with a live operator session."""
    answer = await log_in(client)
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"].endswith("/admin/")
    return client
