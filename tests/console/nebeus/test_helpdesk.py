"""Helpdesk tickets in the console: the list, search, and each ticket's message (escaped)."""

from __future__ import annotations

import httpx

from tests.console.nebeus.helpers import text_of, user_id, user_with_pending
from tests.nebeus.helpers import rpc
from understudy.context import AppContext

TICKETS = "/admin/nebeus/helpdesk"
MESSAGE = "/helpdesk/message"


async def test_tickets_are_listed_found_and_shown(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    await user_with_pending(signed_in, ctx, "help@example.com")
    hostile = "<script>alert(1)</script>\nsecond line"
    for login, name, message in (
        ("help@example.com", "Helen", hostile),
        ("stranger@example.com", "Stan", "Where is my card?"),
    ):
        answer = await rpc(signed_in, MESSAGE, {"login": login, "name": name, "message": message})
        assert answer == {"status": "success"}
    page = await signed_in.get(TICKETS)
    assert page.status_code == 200
    assert "Message from Helen" in page.text and "Message from Stan" in page.text
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text
    found = await signed_in.get(TICKETS, params={"q": "card"})
    assert "Message from Stan" in found.text and "Message from Helen" not in found.text

    ticket = int(page.text.split('id="ticket-link-', 1)[1].split('"', 1)[0])  # newest first
    stan = await signed_in.get(f"{TICKETS}/{ticket}")
    assert text_of(stan.text, "ticket-email") == "stranger@example.com"
    assert "no account with this e-mail" in stan.text
    helen = await signed_in.get(f"{TICKETS}/{ticket - 1}")
    assert helen.status_code == 200
    assert text_of(helen.text, "ticket-message") == "<script>alert(1)</script> second line"
    assert "<script>alert(1)" not in helen.text
    assert f'data-user-id="{user_id(ctx, "help@example.com")}"' in helen.text
    assert text_of(helen.text, "ticket-state") == "draft"
    assert (await signed_in.get(f"{TICKETS}/999999")).status_code == 404
