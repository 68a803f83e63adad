"""Tickets in the console: list by state, the thread, operator replies and state changes,
all seen by the member through the API's ticket endpoints."""

from __future__ import annotations

import httpx

from tests.console.backoffice.conftest import audited, field_errors, post
from understudy.context import AppContext

PAGE = "/admin/backoffice/tickets"


async def open_ticket(
    client: httpx.AsyncClient, auth: dict[str, str], user: int, subject: str
) -> tuple[int, int]:
    """The member opens a ticket through the API; returns (member id, ticket id)."""
    answer = await client.post(
        "/api/v1/user_tickets",
        data={"user_id": user, "subject": subject, "comment": "<div>Where is my bonus?</div>"},
        headers=auth,
    )
    assert answer.status_code == 200, answer.text
    listed = await client.get(f"/api/v1/user_tickets/{user}", headers=auth)
    return user, listed.json()["list"][-1]["id"]


async def test_a_reply_reaches_the_member_thread(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext, member: int
) -> None:
    _, ticket = await open_ticket(signed_in, auth, member, "Bonus missing")
    page = await signed_in.get(f"{PAGE}/{ticket}")
    assert page.status_code == 200
    assert 'id="ticket-reply-form"' in page.text
    assert "&lt;div&gt;Where is my bonus?&lt;/div&gt;" in page.text  # shown, never run
    answer = await post(signed_in, f"{PAGE}/{ticket}", {"content": "Paid today, sorry!"})
    assert answer.status_code == 303
    assert answer.headers["location"].endswith(f"{PAGE}/{ticket}")
    thread = (await signed_in.get(f"/api/v1/threads/{ticket}", headers=auth)).json()["list"]
    assert [t["content"] for t in thread] == ["<div>Where is my bonus?</div>", "Paid today, sorry!"]
    (entry,) = audited(ctx, "backoffice.ticket_reply")
    assert entry.target == f"backoffice ticket {ticket}"
    shown = await signed_in.get(f"{PAGE}/{ticket}")
    assert "Paid today, sorry!" in shown.text and "Reply sent" in shown.text


async def test_a_blank_reply_is_refused_and_adds_nothing(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext, member: int
) -> None:
    _, ticket = await open_ticket(signed_in, auth, member, "Login")
    for content in ("", "   ", "a\x00b"):
        answer = await post(signed_in, f"{PAGE}/{ticket}", {"content": content})
        assert answer.status_code == 400
        assert field_errors(answer) in (
            ["A reply can't be blank."],
            ["must not contain NUL characters"],
        )
    thread = (await signed_in.get(f"/api/v1/threads/{ticket}", headers=auth)).json()["list"]
    assert len(thread) == 1
    assert audited(ctx, "backoffice.ticket_reply") == []


async def test_no_reply_to_a_missing_ticket(signed_in: httpx.AsyncClient, ctx: AppContext) -> None:
    answer = await post(signed_in, f"{PAGE}/999999", {"content": "hello"})
    assert answer.status_code == 404
    assert audited(ctx, "backoffice.ticket_reply") == []
    state = await post(signed_in, f"{PAGE}/999999/state", {"status": "Closed"})
    assert state.status_code == 404
    assert audited(ctx, "backoffice.ticket_state") == []


async def test_states_change_and_filter_the_list(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext, member: int
) -> None:
    user, first = await open_ticket(signed_in, auth, member, "First")
    _, second = await open_ticket(signed_in, auth, member, "Second")
    answer = await post(signed_in, f"{PAGE}/{first}/state", {"status": "Closed"})
    assert answer.status_code == 303
    listed = (await signed_in.get(f"/api/v1/user_tickets/{user}", headers=auth)).json()["list"]
    assert {t["id"]: t["status"] for t in listed} == {first: "Closed", second: "New"}
    closed = await signed_in.get(PAGE, params={"state": "Closed"})
    assert f'data-ticket-id="{first}"' in closed.text
    assert f'data-ticket-id="{second}"' not in closed.text
    mine = await signed_in.get(PAGE, params={"member": user, "q": "seco"})
    assert (
        f'data-ticket-id="{second}"' in mine.text and f'data-ticket-id="{first}"' not in mine.text
    )
    (entry,) = audited(ctx, "backoffice.ticket_state")
    assert '"status":"Closed"' in entry.details


async def test_an_unknown_state_is_refused(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext, member: int
) -> None:
    user, ticket = await open_ticket(signed_in, auth, member, "State")
    answer = await post(signed_in, f"{PAGE}/{ticket}/state", {"status": "Deleted"})
    assert answer.status_code == 400
    assert field_errors(answer) == ["Not a valid choice."]
    listed = (await signed_in.get(f"/api/v1/user_tickets/{user}", headers=auth)).json()["list"]
    assert listed[0]["status"] == "New"
    assert audited(ctx, "backoffice.ticket_state") == []
