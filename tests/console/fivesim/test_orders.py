"""Orders: the list filtered by status and text, an order's page with its SMS (escaped)."""

from __future__ import annotations

import httpx

from tests.console.fivesim.conftest import BASE
from tests.fivesim.helpers import bearer, buy, new_user, sms, stock


async def test_orders_filter_by_status_and_text(signed_in: httpx.AsyncClient) -> None:
    await stock(signed_in, count=2)
    _, alice = await new_user(signed_in, "alice@example.com", balance=100)
    _, bob = await new_user(signed_in, "bob@example.com", balance=100)
    first = (await buy(signed_in, alice)).json()["id"]
    second = (await buy(signed_in, bob)).json()["id"]
    await signed_in.get(f"/v1/user/cancel/{second}", headers=bearer(bob))
    every = await signed_in.get(f"{BASE}/orders")
    assert f'data-order-id="{first}"' in every.text and f'data-order-id="{second}"' in every.text
    pending = await signed_in.get(f"{BASE}/orders", params={"status": "pending"})
    assert f'data-order-id="{first}"' in pending.text
    assert f'data-order-id="{second}"' not in pending.text
    canceled = await signed_in.get(f"{BASE}/orders", params={"status": "CANCELED"})
    assert f'data-order-id="{second}"' in canceled.text
    assert f'data-order-id="{first}"' not in canceled.text
    by_buyer = await signed_in.get(f"{BASE}/orders", params={"q": "bob@"})
    assert f'data-order-id="{second}"' in by_buyer.text
    assert f'data-order-id="{first}"' not in by_buyer.text
    by_id = await signed_in.get(f"{BASE}/orders", params={"q": str(first)})
    assert f'data-order-id="{first}"' in by_id.text
    junk = await signed_in.get(f"{BASE}/orders", params={"status": "nonsense", "page": "x"})
    assert junk.status_code == 200 and f'data-order-id="{first}"' in junk.text


async def test_an_order_shows_its_sms_escaped(signed_in: httpx.AsyncClient) -> None:
    await stock(signed_in)
    _, token = await new_user(signed_in, balance=100)
    order = (await buy(signed_in, token)).json()["id"]
    await sms(signed_in, order, "<script>alert(1)</script> Your code is 4321", sender="VK<b>")
    page = await signed_in.get(f"{BASE}/orders/{order}")
    assert page.status_code == 200
    assert 'data-status="RECEIVED"' in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Your code is 4321" in page.text
    assert "VK&lt;b&gt;" in page.text and "<code data-code>4321</code>" in page.text
    assert (await signed_in.get(f"{BASE}/orders/999999")).status_code == 404
