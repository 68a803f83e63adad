"""The console in a real browser: logging in and out, and the login form's refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Browser, Page

from tests.console.browser.conftest import Live, log_in


async def test_login_opens_the_overview_and_logout_ends_it(
    page: Page, live: Live, shot: Callable[[Page, str], Awaitable[Path]]
) -> None:
    assert await page.title()
    await shot(page, "logged-in")
    await page.click("text=Logout")
    await page.wait_for_url(f"{live.base}/admin/login")
    await page.goto(live.console)
    assert page.url == f"{live.base}/admin/login"


async def test_a_wrong_password_is_refused_in_the_form(
    browser: Browser, live: Live, shot: Callable[[Page, str], Awaitable[Path]]
) -> None:
    context = await browser.new_context()
    try:
        tab = await context.new_page()
        await log_in(tab, live, password="not the right password")
        assert tab.url == f"{live.base}/admin/login"
        assert "Invalid credentials" in await tab.inner_text("#login-error")
        await shot(tab, "login-refused")
        await tab.goto(live.console)
        assert tab.url == f"{live.base}/admin/login"
    finally:
        await context.close()
