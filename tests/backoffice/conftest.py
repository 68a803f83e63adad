"""Back office fixtures: an API key, a logged-in admin, and helpers for the Rails wire."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import ADMIN
from understudy.backoffice.seed import admin_password
from understudy.backoffice.settings import get_settings
from understudy.context import AppContext
from understudy.core import ledger


@pytest.fixture
def admin_pw(ctx: AppContext) -> str:
    """The root member's password (generated once and kept across resets)."""
    with ctx.db.read() as session:
        return admin_password(session)


@pytest.fixture
async def api_key(client: httpx.AsyncClient) -> str:
    """A fresh API key from the control plane."""
    r = await client.post("/_understudy/backoffice/api-keys", headers=ADMIN)
    assert r.status_code == 200
    return str(r.json()["key"])


@pytest.fixture
async def token(client: httpx.AsyncClient, api_key: str, admin_pw: str) -> str:
    """A JWT of admin."""
    r = await client.post(
        "/api/v1/login",
        data={"username": "admin", "password": admin_pw},
        headers={"x-api-key": api_key},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


@pytest.fixture
def auth(api_key: str, token: str) -> dict[str, str]:
    """Headers of an authenticated request."""
    return {"x-api-key": api_key, "jwt-token": token}


def signup(**overrides: Any) -> dict[str, Any]:
    """A valid sign-up form under admin."""
    name = overrides.pop("user_name", "orivera11")
    form = {
        "sponsor": "admin",
        "first_name": "Oscar Danilo",
        "last_name": "Rivera Moreira",
        "email": f"{name}@example.com",
        "user_name": name,
        "mobile": "87501549",
        "password": "abcd1234",
        "country_code": "US",
    }
    form.update(overrides)
    return form


async def create(client: httpx.AsyncClient, auth: dict[str, str], **overrides: Any) -> None:
    """Sign a member up and expect success."""
    r = await client.post("/api/v1/users", data=signup(**overrides), headers=auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "User created successfully."}


def member_id(ctx: AppContext, username: str) -> int:
    """The id of a member."""
    from understudy.backoffice.models import Member

    with ctx.db.read() as session:
        return session.scalars(select(Member.id).where(Member.username == username)).one()


def assert_ledger_sound(ctx: AppContext) -> None:
    """The ledger balances and no member account is negative."""
    with ctx.db.read() as session:
        assert ledger.verify(session) == []


async def advance(
    client: httpx.AsyncClient, auth: dict[str, str], seconds: float, password: str
) -> None:
    """Move the sandbox clock (running due timers) and renew admin's token in `auth`."""
    r = await client.post("/_understudy/clock", json={"advance": seconds}, headers=ADMIN)
    assert r.status_code == 200
    r = await client.post(
        "/api/v1/login",
        data={"username": "admin", "password": password},
        headers={"x-api-key": auth["x-api-key"]},
    )
    auth["jwt-token"] = r.json()["token"]


Configure = Callable[..., None]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Set back-office settings (UNDERSTUDY_BACKOFFICE_*) for one test."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"UNDERSTUDY_BACKOFFICE_{name.upper()}", value)
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()


@pytest.fixture
def fast_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign-ups without argon2, for engine tests that never log the new members in."""
    members = importlib.import_module("understudy.backoffice.service")
    monkeypatch.setattr(members, "hash_password", lambda password: f"plain:{password}")
