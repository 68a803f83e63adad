"""nebeus in a real browser: approve a KYC item and see the dashboard points change through the
JSON-RPC API; edit a rate (refused, then set); browse users, loans and helpdesk tickets.
Every nebeus page is saved as a screenshot."""

from __future__ import annotations

import base64
import io
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw
from playwright.async_api import Page

from tests.console.browser.conftest import Live

Shot = Callable[[Page, str], Awaitable[Path]]
PASSWORD = "browser123"


def id_card_png() -> str:
    """A small picture of an identity card, base64 PNG, as a user would upload."""
    card = Image.new("RGB", (240, 150), "#e8eef7")
    draw = ImageDraw.Draw(card)
    draw.rectangle((10, 10, 229, 139), outline="#1d4ed8", width=3)
    draw.rectangle((22, 30, 82, 110), fill="#94a3b8")
    draw.text((96, 34), "IDENTITY CARD", fill="#1e293b")
    draw.text((96, 60), "Browser Tester", fill="#1e293b")
    draw.text((96, 80), "ES 12345678Z", fill="#1e293b")
    out = io.BytesIO()
    card.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


async def rpc(
    api: httpx.AsyncClient, path: str, params: dict[str, Any], session: str | None = None
) -> Any:
    """A JSON-RPC call; returns its result."""
    headers = {"X-Openerp-Session-Id": session} if session else {}
    body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    answer = await api.post(path, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


async def signed_up(api: httpx.AsyncClient, login: str) -> str:
    """A new user signed in through the API; returns the session id."""
    countries = await rpc(api, "/get_countries/1.0/json", {})
    spain = next(c["id"] for c in countries if c["code"] == "ES")
    params = {
        "login": login,
        "name": "Browser",
        "surname": "Tester",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "country": spain,
    }
    assert await rpc(api, "/signup/1.0/json", params) == {"status": "success"}
    signed = await rpc(api, "/signin/1.0/json", {"login": login, "password": PASSWORD})
    api.cookies.clear()
    return str(signed["session_id"])


async def open_page(page: Page, url: str) -> None:
    """Go to a console page and check it answered."""
    answer = await page.goto(url)
    assert answer is not None and answer.status == 200, url


async def test_approving_a_kyc_item_moves_the_dashboard_points(
    page: Page, live: Live, shot: Shot
) -> None:
    login = f"kyc-{secrets.token_hex(4)}@example.com"
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as api:
        sid = await signed_up(api, login)
        upload = {"item": "identity", "document": id_card_png()}
        assert await rpc(api, "/verification/upload/1.0/json", upload, sid) == {"status": "success"}
        before = await rpc(api, "/partner/dashboard", {}, sid)
        assert before["verification"]["identity"] == {"status": "pending", "points": 0}

        await open_page(page, f"{live.base}/admin/nebeus/kyc?q={login}")
        row = page.locator("tr[data-kyc-item][data-kyc-item-name=identity]", has_text=login)
        item = await row.get_attribute("data-kyc-item")
        assert item is not None
        picture = row.locator("img")  # the uploaded picture, loaded and shown
        assert await picture.evaluate("img => img.complete && img.naturalWidth") == 240
        await shot(page, "nebeus-kyc-queue")
        async with page.expect_navigation():
            await page.click(f"#kyc-approve-{item}")
        assert page.url == f"{live.base}/admin/nebeus/kyc"
        assert "approved" in await page.locator(".toast-body").first.inner_text()
        assert await page.locator(f'tr[data-kyc-item="{item}"]').count() == 0
        await shot(page, "nebeus-kyc-approved")

        after = await rpc(api, "/partner/dashboard", {}, sid)
        assert after["verification"]["identity"] == {"status": "verified", "points": 5}
        assert after["credit_rank"] == before["credit_rank"] + 1

        await open_page(page, f"{live.base}/admin/nebeus/kyc?state=verified&q={login}")
        assert await page.locator(f'tr[data-kyc-item="{item}"]').count() == 1
        assert await page.locator(f"#kyc-approve-{item}").count() == 0  # decided: no buttons

        await open_page(page, f"{live.base}/admin/nebeus/users?q={login}")
        await shot(page, "nebeus-users")
        async with page.expect_navigation():
            await page.click(f"tr[data-user-id] >> text={login}")
        assert (await page.inner_text("#kyc-state-identity")).strip() == "verified"
        assert (await page.inner_text("#verification-points")).strip() == "5"
        assert (await page.inner_text("#credit-rank")).strip() == str(after["credit_rank"])
        await shot(page, "nebeus-user")


async def test_a_rate_is_refused_then_set(page: Page, live: Live, shot: Shot) -> None:
    await open_page(page, f"{live.base}/admin/nebeus/rates")
    await shot(page, "nebeus-rates")
    async with page.expect_navigation():
        await page.click("#edit-rate-GBP")
    await page.fill("#rate", "-1")
    async with page.expect_navigation():
        await page.click("#rate-form button[type=submit]")
    assert "Rate must be positive" in await page.inner_text("#rate-form .invalid-feedback")
    await shot(page, "nebeus-rate-refused")
    await page.fill("#rate", "0.87")
    async with page.expect_navigation():
        await page.click("#rate-form button[type=submit]")
    assert page.url == f"{live.base}/admin/nebeus/rates"
    assert (await page.inner_text("#rate-GBP")).strip() == "0.87"
    async with httpx.AsyncClient(base_url=live.base, headers=live.admin_headers) as api:
        restored = await api.post(
            "/_understudy/nebeus/rates", json={"currency": "GBP", "rate": "0.86"}
        )
        assert restored.status_code == 200


async def test_loans_and_their_schedules(page: Page, live: Live, shot: Shot) -> None:
    await open_page(page, f"{live.base}/admin/nebeus/loans")
    assert await page.locator("tr[data-loan-id]").count() >= 3  # the demo's loans
    await shot(page, "nebeus-loans")
    async with page.expect_navigation():
        await page.locator("tr[data-loan-id] a[id^=loan-link-]").first.click()
    assert await page.locator("#loan-schedule tr[data-instalment]").count() > 0
    await shot(page, "nebeus-loan")


async def test_helpdesk_tickets(page: Page, live: Live, shot: Shot) -> None:
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as api:
        params = {"login": "asker@example.com", "name": "Asker", "message": "Where is my card?"}
        assert await rpc(api, "/helpdesk/message", params) == {"status": "success"}
    await open_page(page, f"{live.base}/admin/nebeus/helpdesk?q=asker")
    await shot(page, "nebeus-tickets")
    async with page.expect_navigation():
        await page.locator("a[id^=ticket-link-]").first.click()
    assert "Where is my card?" in await page.inner_text("#ticket-message")
    await shot(page, "nebeus-ticket")
