"""The dashboard and matrix bonuses: paid, held until qualified, forfeited after the hold."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.backoffice.conftest import advance, assert_ledger_sound, create, member_id
from tests.conftest import ADMIN
from understudy.backoffice.settings import get_settings
from understudy.context import AppContext


async def top_up(client: httpx.AsyncClient, username: str, amount: str) -> None:
    r = await client.post(
        "/_understudy/backoffice/credit",
        json={"username": username, "wallet_id": 3, "amount": amount, "description": "ABCD"},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text


async def test_dashboard_golden_shape(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str], admin_pw: str
) -> None:
    for i, country in enumerate(("US", "NI", "US", "US", "NI", "CK")):
        await create(client, auth, user_name=f"team{i}", country_code=country)
    r = await client.get("/api/v1/dashboards/1", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == [
        "wallets",
        "matrix_dimensions",
        "permanent_mising",
        "temporal_mising",
        "matrix_pending_directs",
        "team_growth_chart",
        "top_leaders",
        "traffic_funnel",
        "efficiency_funnel",
        "popular_countries",
    ]
    assert body["wallets"] == [
        {"name": "Lifetime Earning", "amount": "0.0"},
        {"name": "Mining", "amount": "0.0"},
        {"name": "Credit (crypto)", "amount": "0.0"},
        {"name": "Reserve", "amount": "0.0"},
        {"name": "Commissions", "amount": "0.0"},
    ]
    assert body["matrix_dimensions"] == "3 / 3"
    assert (body["permanent_mising"], body["temporal_mising"]) == ("0.0", "0.0")
    assert body["matrix_pending_directs"] is None
    with ctx.db.read() as session:
        today = ctx.now(session).astimezone(get_settings().zone).date()
    chart = body["team_growth_chart"]
    assert chart["dates"] == [(today - timedelta(days=7 - i)).isoformat() for i in range(8)]
    assert chart["users"] == [0, 0, 0, 0, 0, 0, 0, 6]
    assert body["top_leaders"] == body["traffic_funnel"] == body["efficiency_funnel"] == []
    flags = "https://cdnjs.cloudflare.com/ajax/libs/flag-icon-css/3.4.6/flags/1x1"
    assert body["popular_countries"] == [
        {"country": "United States", "number": 3, "image": f"{flags}/us.svg"},
        {"country": "Nicaragua", "number": 2, "image": f"{flags}/ni.svg"},
        {"country": "Cook Islands", "number": 1, "image": f"{flags}/ck.svg"},
    ]
    await advance(client, auth, 86400, admin_pw)
    moved = (await client.get("/api/v1/dashboards/1", headers=auth)).json()
    assert moved["team_growth_chart"]["users"] == [0, 0, 0, 0, 0, 0, 6, 0]


async def test_dashboard_of_unknown_user(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/dashboards/404", headers=auth)
    assert (r.status_code, r.json()) == (404, {"error": "User not found."})


async def test_matrix_bonus_held_then_released(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await top_up(client, "admin", "1000")
    await create(client, auth, user_name="leader", plan="Entrepreneur")
    await top_up(client, "leader", "1000")
    await create(client, auth, user_name="rec1", sponsor="leader", plan="Entrepreneur")
    leader = member_id(ctx, "leader")
    body = (await client.get(f"/api/v1/dashboards/{leader}", headers=auth)).json()
    # 5% of 50.0 held: leader has 1 active direct of the 2 needed.
    assert (body["temporal_mising"], body["matrix_pending_directs"]) == ("2.5", 1)
    await create(client, auth, user_name="rec2", sponsor="leader", plan="Entrepreneur")
    body = (await client.get(f"/api/v1/dashboards/{leader}", headers=auth)).json()
    assert (body["temporal_mising"], body["matrix_pending_directs"]) == ("0.0", 0)
    r = await client.get(f"/api/v1/wallets/5?user_id={leader}&page=1", headers=auth)
    matrix_rows = [x for x in r.json()["list"] if x["description"].startswith("Matrix")]
    assert [x["description"] for x in matrix_rows] == [
        "Matrix Bonus Level 1 - rec1",
        "Matrix Bonus Level 1 - rec2",
    ]
    # Direct 5.0 + unilevel 2.5 + matrix 2.5, twice.
    assert body["wallets"][4] == {"name": "Commissions", "amount": "20.0"}
    assert body["wallets"][0] == {"name": "Lifetime Earning", "amount": "20.0"}
    assert_ledger_sound(ctx)


async def test_matrix_bonus_forfeited_after_the_hold(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str], admin_pw: str
) -> None:
    await top_up(client, "admin", "1000")
    await create(client, auth, user_name="leader", plan="Entrepreneur")
    await top_up(client, "leader", "1000")
    await create(client, auth, user_name="rec1", sponsor="leader", plan="Entrepreneur")
    leader = member_id(ctx, "leader")
    await advance(client, auth, 30 * 86400, admin_pw)
    body = (await client.get(f"/api/v1/dashboards/{leader}", headers=auth)).json()
    assert (body["permanent_mising"], body["temporal_mising"]) == ("2.5", "0.0")
    await create(client, auth, user_name="rec2", sponsor="leader", plan="Entrepreneur")
    body = (await client.get(f"/api/v1/dashboards/{leader}", headers=auth)).json()
    assert (body["permanent_mising"], body["temporal_mising"]) == ("2.5", "0.0")
    assert_ledger_sound(ctx)
