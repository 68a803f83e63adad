"""The console's own pages in a real browser: operators and the audit log of what they did."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Page

from tests.console.browser.conftest import Live


async def test_operators_and_the_audit_log(
    page: Page, live: Live, shot: Callable[[Page, str], Awaitable[Path]]
) -> None:
    username, _ = live.operator
    await page.goto(f"{live.base}/admin/operators/list")
    assert username in await page.inner_text("table")
    await shot(page, "console-operators")
    await page.goto(f"{live.base}/admin/audit/list")
    log = await page.inner_text("table")
    assert "login.success" in log and username in log
    assert "operator.create" in log  # made with the CLI before the server was used
    await shot(page, "console-audit-log")
