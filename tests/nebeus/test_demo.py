"""`serve --demo` data: the printed credentials and curl line work."""

from __future__ import annotations

import httpx

from tests.nebeus.helpers import rpc
from tests.nebeus.test_accounts import wallet
from understudy.context import AppContext
from understudy.nebeus.demo import DEMO_PASSWORD, demo


async def test_demo_users_sign_in_with_their_funds(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    info = demo(ctx)
    demo(ctx)  # idempotent
    assert "/signin/1.0/json" in info.curl
    result = await rpc(
        client, "/signin/1.0/json", {"login": "demo@example.com", "password": DEMO_PASSWORD}
    )
    sid = result["session_id"]
    assert (await wallet(client, sid, "EUR"))["sum"] == 500
    assert (await wallet(client, sid, "BTC"))["sum"] == 0.05
