"""fivesim payouts in a real browser: a vendor sells a number and withdraws twice; the operator
approves one payout and rejects the other on /admin/fivesim/payouts, and the vendor's API shows
the rejected amount back on its earnings and on the reserve."""

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
PRICE = 21


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a fivesim user."""
    return {"Authorization": f"Bearer {token}"}


async def control(api: httpx.AsyncClient, live: Live, path: str, body: dict[str, Any]) -> Any:
    """A sandbox control-plane call; returns its JSON body."""
    answer = await api.post(f"{CONTROL}/{path}", json=body, headers=live.admin_headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def vendor_view(api: httpx.AsyncClient, token: str) -> tuple[Any, Any]:
    """(earnings, payeer reserve) as the vendor sees them."""
    profile = await api.get("/v1/user/vendor", headers=bearer(token))
    wallets = await api.get("/v1/vendor/wallets", headers=bearer(token))
    assert profile.status_code == wallets.status_code == 200, (profile.text, wallets.text)
    return profile.json()["balance"], wallets.json()["payeer"]


async def sell_one_number(api: httpx.AsyncClient, live: Live, suffix: str) -> tuple[str, str]:
    """A new vendor whose only number (on an operator of its own) was sold; (e-mail, token)."""
    email = f"payouts.vendor.{suffix}@example.com"
    operator = f"payop{suffix}"
    seller = await control(api, live, "users", {"email": email, "vendor": f"payvendor{suffix}"})
    # The price first (no numbers), then the vendor's number: the only one on this operator.
    await control(
        api,
        live,
        "stock",
        {
            "country": "russia",
            "operator": operator,
            "product": "vkontakte",
            "count": 0,
            "price": PRICE,
        },
    )
    phone = f"+99955{secrets.randbelow(10**8):08d}"
    added = await api.post(
        "/v1/vendor/numbers",
        json=[{"phone": phone, "country": "russia", "operator": operator}],
        headers=bearer(seller["token"]),
    )
    assert added.status_code == 200, added.text
    buyer = await control(
        api, live, "users", {"email": f"payouts.buyer.{suffix}@example.com", "balance": 50}
    )
    bought = await api.get(
        f"/v1/user/buy/activation/russia/{operator}/vkontakte", headers=bearer(buyer["token"])
    )
    assert bought.status_code == 200, bought.text
    order = bought.json()
    assert order["phone"] == phone
    await control(api, live, "sms", {"order_id": order["id"], "sender": "VK", "text": "code 77"})
    finished = await api.get(f"/v1/user/finish/{order['id']}", headers=bearer(buyer["token"]))
    assert finished.status_code == 200, finished.text
    return email, seller["token"]


async def withdraw(api: httpx.AsyncClient, token: str, amount: str) -> None:
    """Ask for a payout from the payeer reserve."""
    answer = await api.post(
        "/v1/vendor/withdraw",
        json={"receiver": "P1000123", "method": "qiwi", "amount": amount, "fee": "payeer"},
        headers=bearer(token),
    )
    assert (answer.status_code, answer.json()) == (200, {}), answer.text


async def vendor_payouts(api: httpx.AsyncClient, live: Live, vendor_id: int) -> list[Any]:
    """The vendor's payouts as the control plane lists them, oldest first."""
    answer = await api.get(f"{CONTROL}/payouts", headers=live.admin_headers)
    assert answer.status_code == 200, answer.text
    return [p for p in answer.json()["payouts"] if p["vendor_id"] == vendor_id]


async def test_approve_one_payout_and_reject_another(page: Page, live: Live, shot: Shot) -> None:
    suffix = secrets.token_hex(4)
    async with httpx.AsyncClient(base_url=live.base) as api:
        email, token = await sell_one_number(api, live, suffix)
        earned, reserve = await vendor_view(api, token)
        assert earned > 12  # the vendor's share of the price
        # The reserves are global: add what this test needs, and put the old value back.
        await control(api, live, "reserves", {"payeer": reserve + 20})
        try:
            await withdraw(api, token, "5")
            await withdraw(api, token, "7")
            earnings, payeer = await vendor_view(api, token)
            assert (earnings, payeer) == (round(earned - 12, 2), reserve + 8)
            vendor_id = (await api.get("/v1/user/vendor", headers=bearer(token))).json()["id"]
            approved, rejected = await vendor_payouts(api, live, vendor_id)
            assert (approved["amount"], rejected["amount"]) == (5, 7)
            assert approved["state"] == rejected["state"] == "pending"
            listing = f"{live.base}/admin/fivesim/payouts?q={email}"

            await page.goto(listing)
            rows = page.locator("#fivesim-payouts tbody tr[data-payout-id]")
            assert await rows.count() == 2
            for payout in (approved, rejected):
                row = page.locator(f'#fivesim-payouts tr[data-payout-id="{payout["id"]}"]')
                assert await row.get_attribute("data-state") == "pending"
                assert await row.locator("td[data-amount]").inner_text() == f"{payout['amount']}.00"
            await shot(page, "fivesim-payouts-pending")

            async with page.expect_navigation():
                await page.locator(f"#payout-approve-{approved['id']}").click()
            assert f"Payout {approved['id']} of 5.00 RUB approved." in await page.content()
            await page.goto(listing)
            async with page.expect_navigation():
                await page.locator(f"#payout-reject-{rejected['id']}").click()
            assert f"Payout {rejected['id']} of 7.00 RUB rejected." in await page.content()

            await page.goto(listing)
            for payout, state in ((approved, "approved"), (rejected, "rejected")):
                row = page.locator(f'#fivesim-payouts tr[data-payout-id="{payout["id"]}"]')
                assert await row.get_attribute("data-state") == state
                assert await row.locator("span.badge[data-state]").inner_text() == state
                decider = row.locator("[data-decided-by]")
                assert await decider.inner_text() == live.operator[0]
                assert await row.locator("button").count() == 0  # decided: no more buttons
            await shot(page, "fivesim-payouts-decided")

            # The rejected 7 RUB is back on the earnings and on the reserve; the 5 RUB left.
            assert await vendor_view(api, token) == (round(earned - 5, 2), reserve + 15)
            rows_seen = await api.get("/v1/vendor/payments", headers=bearer(token))
            last = rows_seen.json()["Data"][-1]
            assert (last["TypeName"], last["ProviderName"], last["Amount"]) == (
                "withdraw",
                "payeer",
                7,
            )
            states = [p["state"] for p in await vendor_payouts(api, live, vendor_id)]
            assert states == ["approved", "rejected"]
        finally:
            await control(api, live, "reserves", {"payeer": reserve})
