"""Members in the console: search by username, e-mail, name or id, and a member's page."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN
from tests.console.backoffice.conftest import create, member_id
from understudy.context import AppContext

PAGE = "/admin/backoffice/members"


async def test_search_finds_members_by_username_email_name_or_id(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext
) -> None:
    await create(signed_in, auth, user_name="carmen_v", first_name="Carmen", last_name="Vega")
    await create(signed_in, auth, user_name="jortiz", email="jorge@ortiz.example")
    carmen, jorge = member_id(ctx, "carmen_v"), member_id(ctx, "jortiz")
    for query, found in (
        ("CARMEN_", {carmen}),
        ("ortiz.example", {jorge}),
        ("carmen vega", {carmen}),
        (str(jorge), {jorge}),
        ("_", {carmen}),  # a LIKE wildcard is searched for literally
        ("nobody at all", set()),
    ):
        page = await signed_in.get(PAGE, params={"q": query})
        assert page.status_code == 200
        shown = {m for m in (1, carmen, jorge) if f'data-member-id="{m}"' in page.text}
        assert shown == found, query
    past = await signed_in.get(PAGE, params={"q": "carmen", "page": 3})
    assert past.status_code == 200 and 'id="no-members"' in past.text
    everyone = await signed_in.get(PAGE)
    assert all(f'data-member-id="{m}"' in everyone.text for m in (1, carmen, jorge))
    directs = await signed_in.get(PAGE, params={"sponsor": carmen})
    assert 'id="no-members"' in directs.text


async def credit(client: httpx.AsyncClient, username: str, wallet_id: int, amount: str) -> None:
    """An operator credit through the control plane."""
    answer = await client.post(
        "/_understudy/backoffice/credit",
        json={"username": username, "wallet_id": wallet_id, "amount": amount, "description": "x"},
        headers=ADMIN,
    )
    assert answer.status_code == 200, answer.text


async def test_a_member_page_shows_sponsor_plan_and_wallets(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext
) -> None:
    await credit(signed_in, "admin", 3, "100")  # the purchase wallet pays sponsored plans
    await create(signed_in, auth, user_name="lucia", plan="Entrepreneur")
    await credit(signed_in, "lucia", 2, "12.5")
    lucia = member_id(ctx, "lucia")
    page = await signed_in.get(f"{PAGE}/{lucia}")
    assert page.status_code == 200
    assert 'id="member-sponsor"' in page.text and ">admin</a>" in page.text
    assert '<dd class="col-7" id="member-plan">Entrepreneur</dd>' in page.text
    assert '<tr data-wallet-id="2"><td>2</td><td>Mining</td>' in page.text
    assert 'data-balance="12.5"' in page.text
    # admin paid 50.0 for lucia's plan and earned its direct bonus: the page agrees with the API.
    dashboard = await signed_in.get("/api/v1/dashboards/1", headers=auth)
    admin = await signed_in.get(f"{PAGE}/1")
    for wallet in dashboard.json()["wallets"]:
        assert f"<td>{wallet['name']}</td>" in admin.text
        assert f'data-balance="{wallet["amount"]}"' in admin.text
    assert "none (root)" in admin.text


async def test_an_unknown_member_is_404(signed_in: httpx.AsyncClient) -> None:
    answer = await signed_in.get(f"{PAGE}/999999")
    assert answer.status_code == 404 and "No member 999999." in answer.text
