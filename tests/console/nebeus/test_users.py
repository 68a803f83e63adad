"""nebeus users in the console: search, the user page (ledger balances, KYC, credit standing)
and setting a KYC state as the control plane does."""

from __future__ import annotations

import httpx

from tests.console.nebeus.helpers import (
    PNG,
    audit_rows,
    dashboard,
    field_error,
    post_form,
    text_of,
    user_id,
    user_with_pending,
)
from tests.nebeus.test_accounts import deposit
from understudy.context import AppContext

USERS = "/admin/nebeus/users"


async def test_the_list_finds_users_by_login_or_name(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    await user_with_pending(signed_in, ctx, "anna@example.com", ("identity", PNG))
    await user_with_pending(signed_in, ctx, "bruno@example.com")
    page = await signed_in.get(USERS)
    assert page.status_code == 200
    anna, bruno = user_id(ctx, "anna@example.com"), user_id(ctx, "bruno@example.com")
    assert f'data-user-id="{anna}"' in page.text and f'data-user-id="{bruno}"' in page.text
    found = await signed_in.get(USERS, params={"q": "ANNA"})
    assert f'data-user-id="{anna}"' in found.text and f'data-user-id="{bruno}"' not in found.text
    by_id = await signed_in.get(USERS, params={"q": str(bruno)})
    assert f'data-user-id="{bruno}"' in by_id.text
    assert "No users" in (await signed_in.get(USERS, params={"q": "%_"})).text
    assert "password" not in page.text.lower()


async def test_the_user_page_shows_ledger_balances_kyc_and_standing(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await user_with_pending(signed_in, ctx, "rich@example.com", ("identity", PNG))
    await deposit(signed_in, "rich@example.com", "EUR", "123.45")
    await deposit(signed_in, "rich@example.com", "BTC", "0.5")
    uid = user_id(ctx, "rich@example.com")
    page = await signed_in.get(f"{USERS}/{uid}")
    assert page.status_code == 200
    assert text_of(page.text, "balance-EUR") == "123.45 EUR"
    assert text_of(page.text, "balance-BTC") == "0.50000000 BTC"
    assert text_of(page.text, "kyc-state-identity") == "pending"
    assert text_of(page.text, "kyc-state-phone") == "not verified"
    body = await dashboard(signed_in, sid)
    assert text_of(page.text, "credit-rank") == str(body["credit_rank"])
    assert text_of(page.text, "verification-points") == "0"
    assert (await signed_in.get(f"{USERS}/999999")).status_code == 404


async def test_setting_a_kyc_state_moves_the_dashboard(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await user_with_pending(signed_in, ctx, "set@example.com")
    uid = user_id(ctx, "set@example.com")
    answer = await post_form(signed_in, f"{USERS}/{uid}", {"item": "phone", "status": "verified"})
    assert answer.status_code == 303 and answer.headers["location"].endswith(f"{USERS}/{uid}")
    body = await dashboard(signed_in, sid)
    assert body["verification"]["phone"] == {"status": True, "points": 5}
    assert body["credit_rank"] == 1
    [entry] = audit_rows(ctx, "nebeus.kyc.set")
    assert entry.target == f"nebeus:user:{uid}"
    assert '"from":"not_verified"' in entry.details and '"to":"verified"' in entry.details
    page = await signed_in.get(f"{USERS}/{uid}")
    assert text_of(page.text, "verification-points") == "5"
    assert text_of(page.text, "credit-rank") == "1"
    assert text_of(page.text, "kyc-points-phone") == "5"


async def test_bad_or_refused_kyc_states_change_nothing(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await user_with_pending(signed_in, ctx, "keep@example.com")
    uid = user_id(ctx, "keep@example.com")
    before = await dashboard(signed_in, sid)
    bad = await post_form(signed_in, f"{USERS}/{uid}", {"item": "face", "status": "verified"})
    assert bad.status_code == 400 and field_error(bad.text, "Not a valid choice")
    refused = await post_form(signed_in, f"{USERS}/{uid}", {"item": "phone", "status": "pending"})
    assert refused.status_code == 400
    assert field_error(refused.text, "status must be one of verified, not_verified")
    missing = await post_form(signed_in, f"{USERS}/999999", {"item": "phone", "status": "verified"})
    assert missing.status_code == 404
    assert (await dashboard(signed_in, sid))["verification"] == before["verification"]
    assert audit_rows(ctx, "nebeus.kyc.set") == []


async def test_ids_out_of_range_name_nothing(signed_in: httpx.AsyncClient) -> None:
    huge = "99999999999999999999"
    for path in ("users", "loans", "helpdesk", "kyc/documents"):
        assert (await signed_in.get(f"/admin/nebeus/{path}/{huge}")).status_code == 404, path
    kyc = await post_form(signed_in, f"{USERS}/{huge}", {"item": "phone", "status": "verified"})
    assert kyc.status_code == 404
    decision = f"/admin/nebeus/kyc/{huge}/decision"
    unknown = await post_form(signed_in, decision, {"decision": "approve", "document_id": 0})
    assert unknown.status_code == 400 and "does not exist" in unknown.text
    too_big = await post_form(signed_in, decision, {"decision": "approve", "document_id": huge})
    assert too_big.status_code == 400 and 'data-field-error="document_id"' in too_big.text
