"""Vendors and their numbers: phone, country, operator, products served and state."""

from __future__ import annotations

import httpx

from tests.console.fivesim.conftest import BASE
from tests.fivesim.helpers import bearer, buy, new_user, stock

PHONE = "+79001234567"


async def test_a_vendors_numbers_and_their_state(signed_in: httpx.AsyncClient) -> None:
    seller_id, seller = await new_user(signed_in, "seller@example.com", vendor="seller")
    buyer_id, buyer = await new_user(signed_in, balance=100)
    await stock(signed_in, count=0)  # prices vkontakte on russia/beeline, no sandbox numbers
    added = await signed_in.post(
        "/v1/vendor/numbers",
        json=[{"phone": PHONE, "country": "russia", "operator": "beeline"}],
        headers=bearer(seller),
    )
    assert added.status_code == 200, added.text
    vendors = await signed_in.get(f"{BASE}/vendors")
    assert f'data-vendor-id="{seller_id}"' in vendors.text
    assert f'data-vendor-id="{buyer_id}"' not in vendors.text
    page = await signed_in.get(f"{BASE}/vendors/{seller_id}")
    assert page.status_code == 200 and PHONE in page.text
    assert 'data-state="free"' in page.text and "vkontakte" in page.text
    order = (await buy(signed_in, buyer)).json()["id"]
    busy = await signed_in.get(f"{BASE}/vendors/{seller_id}")
    assert 'data-state="busy"' in busy.text and f'data-order-link="{order}"' in busy.text
    searched = await signed_in.get(f"{BASE}/vendors/{seller_id}", params={"q": "no-such"})
    assert PHONE not in searched.text
    assert (await signed_in.get(f"{BASE}/vendors/{buyer_id}")).status_code == 404
    assert (await signed_in.get(f"{BASE}/vendors/999999")).status_code == 404
