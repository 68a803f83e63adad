"""Payouts: vendors' withdrawals listed as made; the reserves form (as the control plane's)."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN
from tests.console.fivesim.conftest import BASE, audit_rows, field_error, post_form
from tests.fivesim.helpers import CONTROL, bearer, buy, new_user, stock
from understudy.context import AppContext

PHONE = "+79001234567"


async def _vendor_with_earnings(client: httpx.AsyncClient) -> tuple[int, str]:
    """A vendor that sold one number (16.80 RUB earned)."""
    seller_id, seller = await new_user(client, "seller@example.com", vendor="seller")
    await stock(client, count=0)
    await client.post(
        "/v1/vendor/numbers",
        json=[{"phone": PHONE, "country": "russia", "operator": "beeline"}],
        headers=bearer(seller),
    )
    _, buyer = await new_user(client, balance=100)
    order = (await buy(client, buyer)).json()
    await client.post(
        "/v1/vendor/sms",
        json={"phone": PHONE, "sender": "VK", "text": "code 1234"},
        headers=bearer(seller),
    )
    await client.get(f"/v1/user/finish/{order['id']}", headers=bearer(buyer))
    return seller_id, seller


async def test_withdrawals_are_listed(signed_in: httpx.AsyncClient) -> None:
    seller_id, seller = await _vendor_with_earnings(signed_in)
    await signed_in.post(f"{CONTROL}/reserves", json={"payeer": 100}, headers=ADMIN)
    paid = await signed_in.post(
        "/v1/vendor/withdraw",
        json={"receiver": "1", "method": "qiwi", "amount": "10", "fee": "payeer"},
        headers=bearer(seller),
    )
    assert paid.status_code == 200, paid.text
    page = await signed_in.get(f"{BASE}/payouts")
    assert page.status_code == 200 and 'id="payouts-note"' in page.text
    assert 'data-payout-id="' in page.text and f'data-vendor-link="{seller_id}"' in page.text
    assert ">10.00<" in page.text and ">6.80<" in page.text
    assert 'data-reserve="payeer"' in page.text and "payeer 90.00" in page.text
    vendor = await signed_in.get(f"{BASE}/vendors/{seller_id}")
    assert 'id="vendor-earnings">6.80<' in vendor.text
    nobody = await signed_in.get(f"{BASE}/payouts", params={"q": "nobody"})
    assert 'data-payout-id="' not in nobody.text


async def test_reserves_form(signed_in: httpx.AsyncClient, ctx: AppContext) -> None:
    _, seller = await _vendor_with_earnings(signed_in)
    form = await signed_in.get(f"{BASE}/payouts/reserves")
    assert form.status_code == 200 and 'id="reserves-form"' in form.text
    good = {"fkwallet": "0", "payeer": "12.5", "unitpay": "3"}
    for change, message in (
        ({"payeer": "-1"}, "must not be negative"),
        ({"unitpay": "1.001"}, "At most 2 decimals"),
        ({"fkwallet": "lots"}, "Enter a number"),
    ):
        answer = await post_form(signed_in, f"{BASE}/payouts/reserves", {**good, **change})
        assert answer.status_code == 400
        assert [message in e for e in field_error(answer)] == [True], change
    wallets = await signed_in.get("/v1/vendor/wallets", headers=bearer(seller))
    assert wallets.json() == {"fkwallet": 0, "payeer": 0, "unitpay": 0}
    assert audit_rows(ctx, "fivesim.set_reserves") == []
    done = await post_form(signed_in, f"{BASE}/payouts/reserves", good)
    assert done.status_code == 303
    wallets = await signed_in.get("/v1/vendor/wallets", headers=bearer(seller))
    assert wallets.json() == {"fkwallet": 0, "payeer": 12.5, "unitpay": 3}
    [(target, details, _)] = audit_rows(ctx, "fivesim.set_reserves")
    assert target == "fivesim:reserves" and '"payeer":"12.50"' in details
    refused = await signed_in.post(
        "/v1/vendor/withdraw",
        json={"receiver": "1", "method": "qiwi", "amount": "13", "fee": "payeer"},
        headers=bearer(seller),
    )
    assert (refused.status_code, refused.text) == (400, "not enough user balance")
