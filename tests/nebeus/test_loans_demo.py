"""`serve --demo` loans: an active loan with a schedule, a repaid loan and a late one."""

from __future__ import annotations

import httpx

from tests.nebeus.helpers import assert_ledger_sound, rpc
from tests.nebeus.test_loans import GET, LOANS, signin
from understudy.context import AppContext
from understudy.nebeus.demo import demo


async def test_demo_has_active_repaid_and_late_loans(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    demo(ctx)
    demo(ctx)  # idempotent: no second set of loans
    sid = signin(ctx, "demo@example.com")
    mine = await rpc(client, LOANS, {"role": "borrower"}, session=sid)
    assert sorted(loan["state"] for loan in mine) == ["active", "active", "repaid"]
    running = next(x for x in mine if x["currency"] == "USD" and x["state"] == "active")
    active = await rpc(client, GET, {"loan_id": running["id"]}, session=sid)
    assert [i["state"] for i in active["instalments"]] == ["scheduled"] * 6
    assert active["collateral"] == {"amount": 0.01, "currency": "BTC"}
    gbp = next(x for x in mine if x["currency"] == "GBP")
    late = await rpc(client, GET, {"loan_id": gbp["id"]}, session=sid)
    assert [i["state"] for i in late["instalments"]] == ["late", "scheduled", "scheduled"]

    board = await rpc(client, "/partner/dashboard", session=sid)
    assert board["rating"] == 4 and board["credit_rank"] == 3  # 15 + 2·2 on time − 2 late
    assert len(board["nearest_operations"]) == 5
    assert board["nearest_operations"][0]["id"] == late["instalments"][0]["id"]
    assert board["reserved_money"]["debit"] == 0.01  # the collateral
    graphic = await rpc(client, "/dashboard/graphic", {"currency": "USD"}, session=sid)
    assert graphic["all_time"]["credit"] > 0 and graphic["all_time"]["debit"] > 0
    assert_ledger_sound(ctx)
