"""backoffice in a real browser: an API key generated in the console (Menu > API) logs in to the
API and stops working once revoked; the genealogy view is walked down and up; an operator reply
to a member's ticket reaches the thread the API shows. Every backoffice page is saved as a
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
MEMBER, PASSWORD = "demo5", "demo1234"  # a member of `serve --demo`'s organisation


async def api_login(api: httpx.AsyncClient, key: str) -> httpx.Response:
    """POST /api/v1/login with the key, as a demo member."""
    return await api.post(
        "/api/v1/login", data={"username": MEMBER, "password": PASSWORD}, headers={"x-api-key": key}
    )


async def member_auth(api: httpx.AsyncClient, live: Live) -> tuple[dict[str, str], int]:
    """Headers of a logged-in demo member (key from the control plane) and its id."""
    made = await api.post("/_understudy/backoffice/api-keys", headers=live.admin_headers)
    assert made.status_code == 200, made.text
    key = made.json()["key"]
    login = await api_login(api, key)
    assert login.status_code == 200, login.text
    return {"x-api-key": key, "jwt-token": login.json()["token"]}, login.json()["id"]


async def root(page: Page) -> tuple[str | None, str | None]:
    """(id, username) of the member the genealogy view is rooted at."""
    node = page.locator("#genealogy-root")
    return await node.get_attribute("data-member-id"), await node.get_attribute("data-member")


async def test_an_api_key_from_the_console_logs_in_until_revoked(
    page: Page, live: Live, shot: Shot
) -> None:
    label = f"browser {secrets.token_hex(3)}"
    await page.goto(f"{live.base}/admin/backoffice/api-keys")
    await shot(page, "backoffice-api-keys")
    form = page.locator("#api-key-form")
    await form.locator("input[name=label]").fill(label)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    secret = page.locator("#modal-secret-value")
    await secret.wait_for(state="visible")
    key = await secret.input_value()
    assert len(key) == 40
    await shot(page, "backoffice-api-key-shown-once")
    async with httpx.AsyncClient(base_url=live.base) as api:
        login = await api_login(api, key)
        assert login.status_code == 200, login.text
        assert login.json()["username"] == MEMBER

        async with page.expect_navigation():  # closing the modal goes back to the list
            await page.locator("#modal-secret button", has_text="Done").click()
        assert key not in await page.content()
        row = page.locator("#api-key-table tr", has_text=label)
        assert await row.get_attribute("data-state") == "active"
        assert key[:8] in await row.inner_text()

        page.once("dialog", lambda dialog: dialog.accept())
        async with page.expect_navigation():
            await row.locator("button", has_text="Revoke").click()
        row = page.locator("#api-key-table tr", has_text=label)
        assert await row.get_attribute("data-state") == "revoked"
        await shot(page, "backoffice-api-key-revoked")
        refused = await api_login(api, key)
        assert refused.status_code == 403
        assert refused.json() == {"error": "The API Key is not valid."}


async def test_the_genealogy_view_goes_down_and_up(page: Page, live: Live, shot: Shot) -> None:
    for kind in ("matrix", "sponsor", "binary"):
        await page.goto(f"{live.base}/admin/backoffice/genealogy/{kind}")
        assert await root(page) == ("1", "admin")
        await shot(page, f"backoffice-genealogy-{kind}")
    # binary: click admin's first child, which becomes the root; then up again.
    child = page.locator("#genealogy-tree a.gnode:not(#genealogy-root)").first
    child_id, child_name = (
        await child.get_attribute("data-member-id"),
        await child.get_attribute("data-member"),
    )
    async with page.expect_navigation():
        await child.click()
    assert await root(page) == (child_id, child_name)
    assert page.url.endswith(f"?member={child_id}")
    await shot(page, "backoffice-genealogy-rerooted")
    async with page.expect_navigation():
        await page.click("#genealogy-up")
    assert await root(page) == ("1", "admin")
    # The same member in another tree kind, then a grandchild two clicks down.
    await page.goto(f"{live.base}/admin/backoffice/genealogy/binary?member={child_id}")
    async with page.expect_navigation():
        await page.click("#tree-sponsor")
    assert await root(page) == (child_id, child_name)
    assert "/genealogy/sponsor" in page.url


async def test_a_reply_to_a_ticket_reaches_the_member(page: Page, live: Live, shot: Shot) -> None:
    subject = f"Cashout {secrets.token_hex(3)}"
    reply = f"Approved today ({secrets.token_hex(3)})."
    async with httpx.AsyncClient(base_url=live.base) as api:
        auth, user_id = await member_auth(api, live)
        opened = await api.post(
            "/api/v1/user_tickets",
            data={"user_id": user_id, "subject": subject, "comment": "<div>¿Cuándo?</div>"},
            headers=auth,
        )
        assert opened.status_code == 200, opened.text
        tickets = (await api.get(f"/api/v1/user_tickets/{user_id}", headers=auth)).json()["list"]
        ticket = next(t["id"] for t in tickets if t["subject"] == subject)

        await page.goto(f"{live.base}/admin/backoffice/tickets?state=New")
        await shot(page, "backoffice-tickets")
        async with page.expect_navigation():
            await page.locator(f'tr[data-ticket-id="{ticket}"] a', has_text=subject).click()
        form = page.locator("#ticket-reply-form")
        async with page.expect_navigation():
            await form.locator("button[type=submit]").click()  # blank: refused
        assert "A reply can't be blank." in await form.locator(".invalid-feedback").inner_text()
        await form.locator("textarea[name=content]").fill(reply)
        async with page.expect_navigation():
            await form.locator("button[type=submit]").click()
        assert reply in await page.locator("#ticket-thread").inner_text()
        state = page.locator("#ticket-state-form")
        await state.locator("select[name=status]").select_option("In Progress")
        async with page.expect_navigation():
            await state.locator("button[type=submit]").click()
        assert await page.locator("#ticket-state").inner_text() == "In Progress"
        await shot(page, "backoffice-ticket")

        thread = (await api.get(f"/api/v1/threads/{ticket}", headers=auth)).json()["list"]
        assert [t["content"] for t in thread] == ["<div>¿Cuándo?</div>", reply]
        tickets = (await api.get(f"/api/v1/user_tickets/{user_id}", headers=auth)).json()["list"]
        assert {t["id"]: t["status"] for t in tickets}[ticket] == "In Progress"


async def test_every_backoffice_page(page: Page, live: Live, shot: Shot) -> None:
    pages: list[tuple[str, str, Any]] = [
        ("members", "/admin/backoffice/members?q=demo1", "#member-table"),
        ("member", "/admin/backoffice/members/2", "#member-wallets"),
        ("plans", "/admin/backoffice/plans", "#plan-table"),
        ("plan-edit", "/admin/backoffice/plans/2", "#plan-edit-form"),
        ("plan-new", "/admin/backoffice/plans/new", "#plan-create-form"),
        ("notices", "/admin/backoffice/notices", "#notice-form"),
        ("resources", "/admin/backoffice/resources", "#resource-form"),
    ]
    for name, path, element in pages:
        await page.goto(f"{live.base}{path}")
        assert await page.locator(element).count() == 1, name
        await shot(page, f"backoffice-{name}")
    # A member found by search opens its page; its wallets come from the service.
    await page.goto(f"{live.base}/admin/backoffice/members?q={MEMBER}")
    async with page.expect_navigation():
        await page.locator(f'#member-table tr[data-member="{MEMBER}"] a', has_text=MEMBER).click()
    assert await page.locator("#member-username").inner_text() == MEMBER
    assert await page.locator("#member-wallets tr").count() == 5
