"""fivesim in a real browser: top up a user and see the balance on the page and through the
public API; a bad amount is refused next to its field. Every fivesim page is saved as a
screenshot."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page

from tests.console.browser.conftest import Live

Shot = Callable[[Page, str], Awaitable[Path]]
CONTROL = "/_understudy/fivesim"


async def control(api: httpx.AsyncClient, live: Live, path: str, body: dict[str, Any]) -> Any:
    """A sandbox control-plane call; returns its JSON body."""
    answer = await api.post(f"{CONTROL}/{path}", json=body, headers=live.admin_headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def balance(api: httpx.AsyncClient, token: str) -> Any:
    """The user's balance as GET /v1/user/profile shows it."""
    answer = await api.get("/v1/user/profile", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["balance"]


async def test_top_up_shows_the_new_balance_everywhere(page: Page, live: Live, shot: Shot) -> None:
    email = f"browser.{secrets.token_hex(4)}@example.com"
    async with httpx.AsyncClient(base_url=live.base) as api:
        user = await control(api, live, "users", {"email": email, "balance": 5})
        await page.goto(f"{live.base}/admin/fivesim/users?q={email}")
        row = page.locator(f'#fivesim-users tr[data-user-id="{user["id"]}"]')
        async with page.expect_navigation():
            await row.locator("a", has_text=email).click()
        assert page.url.endswith(f"/admin/fivesim/users/{user['id']}")
        assert await page.locator("#user-balance").inner_text() == "5.00"

        form = page.locator("#top-up-form")
        await form.locator("input[name=amount]").fill("1.234")
        async with page.expect_navigation():
            await form.locator("button[type=submit]").click()
        error = form.locator(".invalid-feedback")
        assert "At most 2 decimals" in await error.inner_text()
        assert await page.locator("#user-balance").inner_text() == "5.00"
        await shot(page, "fivesim-top-up-refused")
        assert await balance(api, user["token"]) == 5

        await form.locator("input[name=amount]").fill("12.34")
        async with page.expect_navigation():
            await form.locator("button[type=submit]").click()
        assert await page.locator("#user-balance").inner_text() == "17.34"
        assert "Topped up 12.34 RUB." in await page.content()
        charge = page.locator("#user-payments tbody tr").first
        assert await charge.get_attribute("data-type") == "charge"
        await shot(page, "fivesim-user")
        assert await balance(api, user["token"]) == 17.34


async def test_every_fivesim_page(page: Page, live: Live, shot: Shot) -> None:
    """Each page of the fivesim menu, with an order that received an SMS."""
    suffix = secrets.token_hex(3)
    product = f"browserapp{suffix}"
    async with httpx.AsyncClient(base_url=live.base) as api:
        await control(
            api,
            live,
            "stock",
            {
                "country": "russia",
                "operator": "beeline",
                "product": product,
                "count": 2,
                "price": 9,
            },
        )
        buyer = await control(
            api, live, "users", {"email": f"sms.{suffix}@example.com", "balance": 50}
        )
        bought = await api.get(
            f"/v1/user/buy/activation/russia/beeline/{product}",
            headers={"Authorization": f"Bearer {buyer['token']}"},
        )
        assert bought.status_code == 200, bought.text
        order = bought.json()["id"]
        await control(
            api, live, "sms", {"order_id": order, "sender": "Browser", "text": "code 5150"}
        )

    for menu in (
        "Users & top-ups",
        "Orders & SMS",
        "Prices & stock",
        "Countries",
        "Operators",
        "Products",
        "Vendors & numbers",
        "Payouts",
    ):
        await page.goto(live.console)
        category = page.locator('[data-sqladmin-menu-category="fivesim"]')
        link = category.get_by_role("link", name=menu, exact=True)
        if not await link.is_visible():  # the menu remembers whether it was left open
            await category.get_by_role("button").click()
        async with page.expect_navigation():
            await link.click()
        assert "/admin/fivesim/" in page.url, menu
        assert await page.locator("table").first.is_visible(), menu
        await shot(page, "fivesim-" + menu.split(" ")[0].lower())

    await page.goto(f"{live.base}/admin/fivesim/orders?q={order}")
    async with page.expect_navigation():
        await page.locator(f'#fivesim-orders a[data-order-link="{order}"]').click()
    assert await page.locator("#order-sms code[data-code]").first.inner_text() == "5150"
    await shot(page, "fivesim-order")

    await page.goto(f"{live.base}/admin/fivesim/prices?product={product}")
    async with page.expect_navigation():
        await page.locator(f'tr[data-offer="russia/beeline/{product}"] a[data-edit-offer]').click()
    await page.locator("#price-form input[name=price]").fill("8.50")
    async with page.expect_navigation():
        await page.locator("#price-form button[type=submit]").click()
    cell = page.locator(f'tr[data-offer="russia/beeline/{product}"] td[data-price]')
    assert await cell.inner_text() == "8.50"
    await shot(page, "fivesim-prices-set")

    await page.goto(f"{live.base}/admin/fivesim/vendors?q=demo")
    async with page.expect_navigation():
        await page.locator("#fivesim-vendors a[data-vendor-link]").first.click()
    assert await page.locator("#vendor-numbers tbody tr[data-number-id]").count() > 0
    await shot(page, "fivesim-vendor")

    await page.goto(f"{live.base}/admin/fivesim/payouts/reserves")
    await shot(page, "fivesim-reserves")
    await page.goto(f"{live.base}/admin/fivesim/prices/set")
    await shot(page, "fivesim-price-form")
