"""Notices, products, resources, tickets and threads."""

from __future__ import annotations

import re

import httpx

from tests.backoffice.conftest import create, member_id
from tests.conftest import ADMIN
from understudy.context import AppContext

DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[78]:00")


async def control(client: httpx.AsyncClient, path: str, body: dict[str, object]) -> None:
    r = await client.post(f"/_understudy/backoffice/{path}", json=body, headers=ADMIN)
    assert (r.status_code, r.json()) == (200, {"status": "ok"}), r.text


async def test_notices_by_audience(
    client: httpx.AsyncClient, ctx: AppContext, auth: dict[str, str]
) -> None:
    await create(client, auth, user_name="reader")
    reader = member_id(ctx, "reader")
    await control(
        client, "notices", {"title": "General", "content": "Esta es una notificación general"}
    )
    await control(
        client,
        "notices",
        {"title": "Notice por Plan", "content": "Notice por plan.", "plan": "Free Plan"},
    )
    await control(client, "notices", {"title": "Solo admin", "content": "x", "username": "admin"})
    await control(
        client, "notices", {"title": "Other plan", "content": "y", "plan": "Entrepreneur"}
    )
    r = await client.get(f"/api/v1/notices/{reader}", headers=auth)
    assert r.status_code == 200
    assert r.json() == {
        "general_notices": [
            {"id": 1, "title": "General", "content": "Esta es una notificación general"}
        ],
        "user_notices": [],
        "plan_notices": [{"id": 2, "title": "Notice por Plan", "content": "Notice por plan."}],
    }
    mine = (await client.get("/api/v1/notices/1", headers=auth)).json()["user_notices"]
    assert [n["title"] for n in mine] == ["Solo admin"]
    r = await client.get("/api/v1/notices/77", headers=auth)
    assert (r.status_code, r.json()) == (404, {"error": "User not found."})
    r = await client.post(
        "/_understudy/backoffice/notices",
        json={"title": "t", "content": "c", "plan": "Nope"},
        headers=ADMIN,
    )
    assert r.status_code == 400


async def test_products_golden_shape(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/products/1", headers=auth)
    assert r.status_code == 200
    assert r.content == (
        b'{"plans":[{"id":1,"plan":"Free Plan",'
        b'"image":"http://testserver/uploads/plan/plan_image/1/plan.png",'
        b'"price":0.0,"currency":"USD"}]}'
    )
    r = await client.get("/api/v1/products/x", headers=auth)
    assert (r.status_code, r.json()) == (404, {"error": "User not found."})


async def test_resources(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await control(
        client,
        "resources",
        {
            "category_id": 3,
            "title": "Guide",
            "description": "Test.",
            "file_url": "/uploads/guide.pdf",
        },
    )
    await control(
        client,
        "resources",
        {"category_id": 3, "title": "Clip", "description": "d", "video": "https://youtu.be/x"},
    )
    r = await client.get("/api/v1/resources/3", headers=auth)
    assert r.json() == {
        "list": [
            {
                "id": 1,
                "title": "Guide",
                "description": "Test.",
                "video": "",
                "file": "http://testserver/uploads/guide.pdf",
            },
            {
                "id": 2,
                "title": "Clip",
                "description": "d",
                "video": "https://youtu.be/x",
                "file": "",
            },
        ]
    }
    assert (await client.get("/api/v1/resources/1", headers=auth)).json() == {"list": []}
    for category in ("99", "abc"):
        r = await client.get(f"/api/v1/resources/{category}", headers=auth)
        assert (r.status_code, r.json()) == (
            404,
            {"errors": {"category_id": ["category_id doesn't exist."]}},
        )


async def test_tickets_and_threads(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post("/api/v1/user_tickets", data={}, headers=auth)
    assert r.status_code == 404
    assert r.content == (
        b'{"errors":{"user_id":["can\'t be blank","user_id doesn\'t exist."],'
        b'"subject":["can\'t be blank"],"comment":["can\'t be blank"]}}'
    )
    r = await client.post(
        "/api/v1/user_tickets", data={"user_id": "9", "subject": "s", "comment": "c"}, headers=auth
    )
    assert r.json() == {"errors": {"user_id": ["user_id doesn't exist."]}}
    r = await client.post(
        "/api/v1/user_tickets",
        data={"user_id": "1", "subject": "Ayuda", "comment": "<div>Hola</div>"},
        headers=auth,
    )
    assert (r.status_code, r.json()) == (200, {"message": "Ticket created successfully."})
    r = await client.get("/api/v1/user_tickets/1", headers=auth)
    [ticket] = r.json()["list"]
    assert list(ticket) == ["id", "subject", "created_at", "status"]
    assert (ticket["id"], ticket["subject"], ticket["status"]) == (1, "Ayuda", "New")
    assert DATE.fullmatch(ticket["created_at"])
    r = await client.post(
        "/api/v1/threads", data={"ticket_id": "1", "content": "<b>más</b>"}, headers=auth
    )
    assert (r.status_code, r.json()) == (200, {"message": "Ticket thread created successfully."})
    r = await client.get("/api/v1/threads/1", headers=auth)
    assert [(t["id"], t["content"]) for t in r.json()["list"]] == [
        (1, "<div>Hola</div>"),
        (2, "<b>más</b>"),
    ]
    assert all(list(t) == ["id", "content", "created_at"] for t in r.json()["list"])
    r = await client.post("/api/v1/threads", data={"ticket_id": "5"}, headers=auth)
    assert (r.status_code, r.json()) == (
        404,
        {"errors": {"ticket_id": ["ticket_id doesn't exist."], "content": ["can't be blank"]}},
    )
    for path, key in (("threads/8", "ticket_id"), ("user_tickets/8", "user_id")):
        r = await client.get(f"/api/v1/{path}", headers=auth)
        assert (r.status_code, r.json()) == (404, {"errors": {key: [f"{key} doesn't exist."]}})


async def test_operators_move_ticket_status(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/user_tickets", data={"user_id": "1", "subject": "s", "comment": "c"}, headers=auth
    )
    assert r.status_code == 200
    url = "/_understudy/backoffice/tickets/1"
    for status in ("In Progress", "Closed", "New"):
        r = await client.post(url, json={"status": status}, headers=ADMIN)
        assert (r.status_code, r.json()) == (200, {"status": "ok"})
        r = await client.get("/api/v1/user_tickets/1", headers=auth)
        assert r.json()["list"][0]["status"] == status
    for bad_url, body in (
        (url, {"status": "Open"}),
        (url, {}),
        ("/_understudy/backoffice/tickets/9", {"status": "Closed"}),
        ("/_understudy/backoffice/tickets/0", {"status": "Closed"}),
    ):
        r = await client.post(bad_url, json=body, headers=ADMIN)
        assert r.status_code == 400 and list(r.json()) == ["error"], (bad_url, body)
    assert (await client.post(url, json={"status": "Closed"})).status_code == 401
