"""Browser tests: a real `understudy serve --demo` and Debian's Chromium driven by Playwright.

The server runs on its own database (SQLite file, or a throw-away PostgreSQL database when the
run uses PostgreSQL) with the sandbox control plane on; an operator is made with the CLI as a
person would. Every test gets a fresh browser context already logged in to the console, and
`shot(page, name)` saves a full-page screenshot under test-artifacts/console/<database>/.
Playwright drives the system's Chromium (`/usr/bin/chromium`, or $UNDERSTUDY_CHROMIUM); it never
downloads a browser of its own. Without Chromium these tests are skipped, saying how to get it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import throwaway_pg_database
from tests.live_server import COMMAND, running_server, server_env

CHROMIUM = os.environ.get("UNDERSTUDY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine's network is closed: no phoning home
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_TOKEN = "browser-tests-admin-token-0123456789"
OPERATOR = ("browser-operator", "browser tests password 42")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"


@dataclass(frozen=True)
class Live:
    """A running server: its URL, database and sandbox credentials."""

    base: str
    database_url: str
    admin_token: str
    operator: tuple[str, str]
    artifacts: Path

    @property
    def admin_headers(self) -> dict[str, str]:
        """Headers of a sandbox control-plane call."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def console(self) -> str:
        """The console's start page."""
        return f"{self.base}/admin/"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium's path, or skip."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or set UNDERSTUDY_CHROMIUM)"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The live server's own database, of the run's kind."""
    server = os.environ.get("UNDERSTUDY_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path_factory.mktemp('live') / 'console.db'}"
        return
    with throwaway_pg_database(server, prefix="understudy_browser") as url:
        yield url


@pytest.fixture(scope="session")
def live(
    chromium: str, live_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """`understudy serve --demo` with the control plane on and one operator made by the CLI."""
    env = server_env(UNDERSTUDY_ADMIN_TOKEN=ADMIN_TOKEN)
    username, password = OPERATOR
    log = tmp_path_factory.mktemp("live-log") / "server.log"
    with running_server(live_database_url, log, args=("--demo",), env=env) as base:
        subprocess.run(
            [
                COMMAND,
                "console",
                "create-operator",
                username,
                "--password-stdin",
                "--db",
                live_database_url,
            ],
            input=f"{password}\n",
            text=True,
            env=env,
            check=True,
            capture_output=True,
        )
        kind = "postgresql" if live_database_url.startswith("postgresql") else "sqlite"
        artifacts = ARTIFACTS / kind
        artifacts.mkdir(parents=True, exist_ok=True)
        yield Live(base, live_database_url, ADMIN_TOKEN, OPERATOR, artifacts)


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """A headless Chromium for the run (each test opens a fresh context of its own)."""
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def log_in(
    page: Page, live: Live, username: str | None = None, password: str | None = None
) -> None:
    """Fill and send the console's login form."""
    name, secret = live.operator
    await page.goto(f"{live.base}/admin/login")
    await page.fill("#username", username or name)
    await page.fill("#password", password or secret)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()


@pytest.fixture
async def page(browser: Browser, live: Live) -> AsyncIterator[Page]:
    """A page in a fresh browser context, logged in to the console as the operator."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    tab = await context.new_page()
    tab.set_default_timeout(15_000)
    await log_in(tab, live)
    assert tab.url == live.console, tab.url
    try:
        yield tab
    finally:
        await context.close()


@pytest.fixture
def shot(live: Live) -> Callable[[Page, str], Awaitable[Path]]:
    """shot(page, name): save a full-page PNG of the page as a test artefact; returns its path."""

    async def take(tab: Page, name: str) -> Path:
        path = live.artifacts / f"{name}.png"
        await tab.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    return take
