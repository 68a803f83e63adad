"""Notices in the console: published for everyone, one member or a plan, seen through the API."""

from __future__ import annotations

import httpx

from tests.console.backoffice.conftest import audited, errors_at, post
from understudy.context import AppContext

PAGE = "/admin/backoffice/notices"


async def notices(client: httpx.AsyncClient, auth: dict[str, str], member: int) -> dict[str, list]:
    answer = await client.get(f"/api/v1/notices/{member}", headers=auth)
    assert answer.status_code == 200
    return {key: [n["title"] for n in rows] for key, rows in answer.json().items()}


async def test_notices_reach_their_audience(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext, member: int
) -> None:
    form = await signed_in.get(PAGE)
    assert form.status_code == 200 and 'id="notice-form"' in form.text
    for title, username, plan in (
        ("For all", "", ""),
        ("For you", "ORIVERA11", ""),
        ("For free plans", "", "Free Plan"),
        ("For entrepreneurs", "", "Entrepreneur"),
    ):
        data = {"title": title, "content": "<b>hi</b>", "username": username, "plan": plan}
        answer = await post(signed_in, PAGE, data)
        assert answer.status_code == 303, answer.text
    assert await notices(signed_in, auth, member) == {
        "general_notices": ["For all"],
        "user_notices": ["For you"],
        "plan_notices": ["For free plans"],
    }
    listed = await signed_in.get(PAGE)
    assert "&lt;b&gt;hi&lt;/b&gt;" in listed.text and "member orivera11" in listed.text
    assert len(audited(ctx, "backoffice.notice_create")) == 4


async def test_bad_notices_are_refused_next_to_their_field(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext, member: int
) -> None:
    base = {"title": "T", "content": "C", "username": "", "plan": ""}
    for change, field, message in (
        ({"title": " "}, "title", "A title is required."),
        ({"content": ""}, "content", "Content is required."),
        ({"username": "nobody"}, "username", "no member 'nobody'"),
        ({"plan": "Platinum"}, "plan", "Not a valid choice."),
        ({"title": "a\x00b"}, "title", "must not contain NUL characters"),
    ):
        answer = await post(signed_in, PAGE, {**base, **change})
        assert answer.status_code == 400, change
        assert errors_at(answer, field) == [message]
    assert await notices(signed_in, auth, member) == {
        "general_notices": [],
        "user_notices": [],
        "plan_notices": [],
    }
    assert audited(ctx, "backoffice.notice_create") == []
