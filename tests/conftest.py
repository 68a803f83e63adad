"""Shared fixtures: one migrated database per run, wiped before each test, and an in-process client.

The suite runs on SQLite (a temp file) unless UNDERSTUDY_TEST_DATABASE_URL names a PostgreSQL
server; then a throw-away database is created on it for this run and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from understudy.app import create_app
from understudy.config import Settings
from understudy.context import AppContext
from understudy.control.reset import wipe_and_seed
from understudy.core import migrate
from understudy.core.db import normalize_url
from understudy.fivesim.settings import get_settings as fivesim_settings
from understudy.services import load_all

ADMIN_TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@contextmanager
def throwaway_pg_database(server: str, prefix: str = "understudy_test") -> Iterator[str]:
    """Create an empty PostgreSQL database on that server; yields its URL, drops it afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin_dsn = (
        normalize_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield normalize_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this test run."""
    server = os.environ.get("UNDERSTUDY_TEST_DATABASE_URL")
    if not server:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        migrate.upgrade(url)
        yield url
        return
    with throwaway_pg_database(server) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def server_database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for a server process: throw-away PostgreSQL when configured."""
    server = os.environ.get("UNDERSTUDY_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    with throwaway_pg_database(server, prefix="understudy_server") as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Test settings: sandbox on, no background sweeper, no SMTP, no Redis."""
    return Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        smtp_url=None,
        redis_url=None,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def ctx(settings: Settings) -> Iterator[AppContext]:
    """A context on a freshly reset database."""
    context = AppContext.from_settings(settings)
    wipe_and_seed(context, load_all())
    yield context
    context.close()


@pytest.fixture
def app(ctx: AppContext) -> FastAPI:
    """The application on the reset database (lifespan not run: no background sweeper)."""
    return create_app(ctx=ctx)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client for the app."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    """Whether this run uses PostgreSQL."""
    return database_url.startswith("postgresql")


@pytest.fixture
def repo_root() -> Path:
    """The repository checkout."""
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def unlimited(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No fivesim request limits (state machines and the fuzzer send many requests from one IP)."""
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_RATE_LIMIT", "0")
    fivesim_settings.cache_clear()
    yield
    monkeypatch.undo()
    fivesim_settings.cache_clear()
