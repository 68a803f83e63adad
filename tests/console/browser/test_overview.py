"""The overview in a real browser: the four charts are drawn, their numbers one click away."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Page

from tests.console.browser.conftest import Live

CHARTS = ("orders", "revenue", "members", "loans")


async def test_the_overview_shows_every_chart(
    page: Page, live: Live, shot: Callable[[Page, str], Awaitable[Path]]
) -> None:
    assert page.url == live.console
    for key in CHARTS:
        container = page.locator(f"#chart-{key}")
        await container.scroll_into_view_if_needed()
        assert await container.is_visible(), key
        drawing = container.locator("svg.pygal-chart")
        assert await drawing.is_visible(), key
        box = await drawing.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, (key, box)
    table = page.locator("#chart-members-table")  # never empty: the demo signs members up
    assert not await table.is_visible()
    await page.locator("#chart-members summary").click()
    assert await table.is_visible()
    assert await table.locator("tbody tr").count() == 14
    await page.evaluate("window.scrollTo(0, 0)")  # the sidebar is fixed: shoot from the top
    await shot(page, "overview")
