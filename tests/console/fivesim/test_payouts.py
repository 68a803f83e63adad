"""Payouts: vendors' withdrawals listed pending first, approved or rejected once (audited), a
second decision refused with nothing changed; the reserves form (as the control plane's)."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import httpx

from tests.conftest import ADMIN
from tests.console.conftest import csrf_token
from tests.console.fivesim.conftest import BASE, audit_rows, field_error, post_form
from tests.fivesim.helpers import CONTROL, assert_invariants, bearer, buy, new_user, stock
from understudy.context import AppContext

PHONE = "+79001234567"
WITHDRAW = {"receiver": "4100 1234", "method": "qiwi", "amount": "10", "fee": "payeer"}


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


async def _withdrawn(client: httpx.AsyncClient, seller: str, *amounts: str) -> list[int]:
    """Withdraw each amount from a 100 RUB payeer reserve; the new payouts' ids."""
    await client.post(f"{CONTROL}/reserves", json={"payeer": 100}, headers=ADMIN)
    before = set(_payout_ids((await client.get(f"{BASE}/payouts")).text))
    for amount in amounts:
        paid = await client.post(
            "/v1/vendor/withdraw", json={**WITHDRAW, "amount": amount}, headers=bearer(seller)
        )
        assert (paid.status_code, paid.json()) == (200, {})
    page = (await client.get(f"{BASE}/payouts")).text
    return sorted(set(_payout_ids(page)) - before)


def _payout_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-payout-id="(\d+)"', page)]


def _states(page: str) -> list[tuple[int, str]]:
    return [(int(i), s) for i, s in re.findall(r'data-payout-id="(\d+)" data-state="(\w+)"', page)]


async def _wire(client: httpx.AsyncClient, seller: str) -> dict[str, Any]:
    """What the vendor sees of its money through the public API."""
    auth = bearer(seller)
    rows = (await client.get("/v1/vendor/payments", headers=auth)).json()["Data"]
    return {
        "balance": (await client.get("/v1/user/vendor", headers=auth)).json()["balance"],
        "payeer": (await client.get("/v1/vendor/wallets", headers=auth)).json()["payeer"],
        "payments": [(r["TypeName"], r["ProviderName"], r["Amount"], r["Balance"]) for r in rows],
    }


def _decision(payout_id: int, verb: str) -> str:
    return f"{BASE}/payouts/{payout_id}/{verb}"


async def test_payouts_are_listed_pending_first(signed_in: httpx.AsyncClient) -> None:
    seller_id, seller = await _vendor_with_earnings(signed_in)
    first, second = await _withdrawn(signed_in, seller, "10", "2.5")
    assert (await post_form(signed_in, _decision(first, "approve"), {})).status_code == 303
    page = await signed_in.get(f"{BASE}/payouts")
    assert page.status_code == 200
    assert 'id="payouts-note"' not in page.text
    assert _states(page.text) == [(second, "pending"), (first, "approved")]
    assert f'id="payout-approve-{second}"' in page.text
    assert f'id="payout-reject-{second}"' in page.text
    assert f'id="payout-approve-{first}"' not in page.text
    assert f'id="payout-reject-{first}"' not in page.text
    assert f'data-vendor-link="{seller_id}"' in page.text and "4100 1234" in page.text
    assert ">10.00<" in page.text and ">2.50<" in page.text
    assert 'data-count="1"' in page.text and 'id="payouts-waiting-amount">2.50<' in page.text
    assert 'data-reserve="payeer"' in page.text and "payeer 87.50" in page.text
    assert 'data-decided-by="' in page.text and ">Alice<" in page.text
    only = await signed_in.get(f"{BASE}/payouts", params={"q": "approved"})
    assert _states(only.text) == [(first, "approved")]
    nobody = await signed_in.get(f"{BASE}/payouts", params={"q": "nobody"})
    assert 'data-payout-id="' not in nobody.text


async def test_approve(signed_in: httpx.AsyncClient, ctx: AppContext, operator: int) -> None:
    _, seller = await _vendor_with_earnings(signed_in)
    [payout] = await _withdrawn(signed_in, seller, "10")
    asked = await _wire(signed_in, seller)
    assert asked == {
        "balance": 6.8,
        "payeer": 90,
        "payments": [("sell", "vkontakte", 16.8, 16.8), ("withdraw", "payeer", -10, 6.8)],
    }
    done = await post_form(signed_in, _decision(payout, "approve"), {})
    assert done.status_code == 303 and done.headers["location"].endswith("/admin/fivesim/payouts")
    page = await signed_in.get(done.headers["location"])
    assert f"Payout {payout} of 10.00 RUB approved." in page.text
    assert _states(page.text) == [(payout, "approved")]
    assert await _wire(signed_in, seller) == asked  # the money stays gone, nothing new shown
    [(target, details, who)] = audit_rows(ctx, "fivesim.payout_approve")
    assert (target, who) == (f"fivesim:payout:{payout}", operator)
    assert '"amount":"10.00"' in details and '"reserve":"payeer"' in details
    assert_invariants(ctx)


async def test_reject(signed_in: httpx.AsyncClient, ctx: AppContext, operator: int) -> None:
    _, seller = await _vendor_with_earnings(signed_in)
    await signed_in.post(f"{CONTROL}/reserves", json={"payeer": 100}, headers=ADMIN)
    before = await _wire(signed_in, seller)
    [payout] = await _withdrawn(signed_in, seller, "10")
    done = await post_form(signed_in, _decision(payout, "reject"), {})
    assert done.status_code == 303
    page = await signed_in.get(done.headers["location"])
    assert f"Payout {payout} of 10.00 RUB rejected." in page.text
    assert _states(page.text) == [(payout, "rejected")]
    after = await _wire(signed_in, seller)
    assert (
        (after["balance"], after["payeer"])
        == (before["balance"], before["payeer"])
        == (
            16.8,
            100,
        )
    )
    assert after["payments"][-1] == ("withdraw", "payeer", 10, 16.8)
    [(target, _, who)] = audit_rows(ctx, "fivesim.payout_reject")
    assert (target, who) == (f"fivesim:payout:{payout}", operator)
    assert_invariants(ctx)


async def test_a_second_decision_is_refused(signed_in: httpx.AsyncClient, ctx: AppContext) -> None:
    _, seller = await _vendor_with_earnings(signed_in)
    [payout] = await _withdrawn(signed_in, seller, "10")
    assert (await post_form(signed_in, _decision(payout, "reject"), {})).status_code == 303
    decided = await _wire(signed_in, seller)
    for verb in ("approve", "reject"):
        refused = await post_form(signed_in, _decision(payout, verb), {})
        assert refused.status_code == 409
        assert f"Payout {payout} was already rejected" in html.unescape(refused.text)
        assert "data-form-error" in refused.text
        assert _states(refused.text) == [(payout, "rejected")]
    assert await _wire(signed_in, seller) == decided
    assert len(audit_rows(ctx, "fivesim.payout_reject")) == 1
    assert audit_rows(ctx, "fivesim.payout_approve") == []
    assert_invariants(ctx)


async def test_a_refusal_page_links_to_the_list(signed_in: httpx.AsyncClient) -> None:
    _, seller = await _vendor_with_earnings(signed_in)
    ids = await _withdrawn(signed_in, seller, *["0.1"] * 51)
    assert len(ids) == 50  # one page (pending ones oldest first): the newest is on page 2
    newest = max(ids) + 1
    assert (await post_form(signed_in, _decision(newest, "approve"), {})).status_code == 303
    refused = await post_form(signed_in, _decision(newest, "reject"), {})
    assert refused.status_code == 409
    # Searching or paging from the refusal leads to the list page, not to the decision's URL.
    assert re.search(r'id="payouts-search"', refused.text)
    assert 'action="http://testserver/admin/fivesim/payouts"' in refused.text
    assert 'href="http://testserver/admin/fivesim/payouts?page=2"' in refused.text
    second = await signed_in.get(f"{BASE}/payouts", params={"page": 2})
    assert _states(second.text) == [(newest, "approved")]


async def test_unknown_payouts_are_not_found(signed_in: httpx.AsyncClient, ctx: AppContext) -> None:
    for payout in (4321, 2**31, 10**12):
        for verb in ("approve", "reject"):
            answer = await post_form(signed_in, _decision(payout, verb), {})
            assert answer.status_code == 404, (payout, verb)
    assert audit_rows(ctx, "fivesim.payout_approve") == []
    assert audit_rows(ctx, "fivesim.payout_reject") == []


async def test_decisions_need_the_csrf_token(signed_in: httpx.AsyncClient, ctx: AppContext) -> None:
    _, seller = await _vendor_with_earnings(signed_in)
    [payout] = await _withdrawn(signed_in, seller, "10")
    asked = await _wire(signed_in, seller)
    for verb in ("approve", "reject"):
        for data in ({}, {"csrf_token": "forged"}):
            answer = await signed_in.post(_decision(payout, verb), data=data)
            assert answer.status_code == 403, (verb, data)
    page = await signed_in.get(f"{BASE}/payouts")
    assert _states(page.text) == [(payout, "pending")]
    assert await _wire(signed_in, seller) == asked
    assert audit_rows(ctx, "fivesim.payout_approve") == []
    assert audit_rows(ctx, "fivesim.payout_reject") == []


async def test_decisions_at_once_take_effect_once(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    _, seller = await _vendor_with_earnings(signed_in)
    [payout] = await _withdrawn(signed_in, seller, "10")
    token = await csrf_token(signed_in)
    verbs = ["approve", "reject", "approve", "reject"]
    answers = await asyncio.gather(
        *(signed_in.post(_decision(payout, v), data={"csrf_token": token}) for v in verbs)
    )
    assert sorted(a.status_code for a in answers) == [303, 409, 409, 409]
    approved = audit_rows(ctx, "fivesim.payout_approve")
    rejected = audit_rows(ctx, "fivesim.payout_reject")
    assert len(approved) + len(rejected) == 1
    state = "approved" if approved else "rejected"
    page = await signed_in.get(f"{BASE}/payouts")
    assert _states(page.text) == [(payout, state)]
    wire = await _wire(signed_in, seller)
    assert (wire["balance"], wire["payeer"]) == ((6.8, 90) if approved else (16.8, 100))
    assert len(wire["payments"]) == (2 if approved else 3)
    assert_invariants(ctx)


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
