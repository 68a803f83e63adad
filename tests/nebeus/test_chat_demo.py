"""`serve --demo` chat data: address book, the support group and its conversations."""

from __future__ import annotations

import httpx

from tests.nebeus.helpers import rpc
from understudy.context import AppContext
from understudy.nebeus.demo import DEMO_PASSWORD, demo

API = "/im_chat/api"


async def test_demo_user_finds_friends_support_and_conversations(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    demo(ctx)
    demo(ctx)  # idempotent
    signed = await rpc(
        client, "/signin/1.0/json", {"login": "demo@example.com", "password": DEMO_PASSWORD}
    )
    sid = signed["session_id"]
    book = await rpc(client, f"{API}/user_chat_ab/get_users_from_book", session=sid)
    assert [u["name"] for u in book] == ["Friend User", "Nebeus Support"]
    [pair] = await rpc(client, f"{API}/get_sessions", session=sid)
    history = await rpc(client, f"{API}/history", {"uuid": pair["uuid"]}, session=sid)
    assert [h["message"] for h in history][-1] == "Hi! Did the bitcoin arrive?"
    assert len(history) == 3
    [support] = await rpc(client, f"{API}/get_sessions_group", session=sid)
    assert support["groups"][0]["name"] == "Support" and len(support["users"]) == 3
    talk = await rpc(client, f"{API}/history", {"uuid": support["uuid"]}, session=sid)
    assert talk[0]["from_id"][1] == "Nebeus Support"
