"""The pinned sandbox control plane: auth, reset, clock, mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from tests.conftest import ADMIN
from understudy.app import create_app
from understudy.config import Settings
from understudy.context import AppContext
from understudy.core import ledger, mail


def _parse(now: str) -> datetime:
    assert now.endswith("Z")
    return datetime.strptime(now, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


async def test_control_plane_is_404_without_token(database_url: str) -> None:
    settings = Settings(database_url=database_url, admin_token=None)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        for method, path in [
            ("POST", "/_understudy/reset"),
            ("GET", "/_understudy/clock"),
            ("GET", "/_understudy/mail"),
        ]:
            r = await c.request(method, path, headers=ADMIN)
            assert r.status_code == 404, path
    app.state.ctx.close()


async def test_wrong_or_missing_token_is_401(client: httpx.AsyncClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": ADMIN["Authorization"][7:]},
    ):
        r = await client.get("/_understudy/clock", headers=headers)
        assert r.status_code == 401
        assert r.json() == {"error": "invalid or missing admin token"}


async def test_clock_reads_and_advances(client: httpx.AsyncClient) -> None:
    before = datetime.now(UTC)
    r = await client.get("/_understudy/clock", headers=ADMIN)
    assert r.status_code == 200
    start = _parse(r.json()["now"])
    assert start - before < timedelta(seconds=5)

    r = await client.post("/_understudy/clock", json={"advance": 3600}, headers=ADMIN)
    assert r.status_code == 200
    moved = _parse(r.json()["now"])
    assert timedelta(seconds=3600) <= moved - start < timedelta(seconds=3610)

    again = _parse((await client.get("/_understudy/clock", headers=ADMIN)).json()["now"])
    assert again >= moved


async def test_clock_advance_rejects_bad_input(client: httpx.AsyncClient) -> None:
    for body in ({}, {"advance": -1}, {"advance": "soon"}, {"advance": 1e300}):
        r = await client.post("/_understudy/clock", json=body, headers=ADMIN)
        assert r.status_code == 400, body
        assert set(r.json()) == {"error"} and r.json()["error"]
    r = await client.post(
        "/_understudy/clock",
        content=b"{not json",
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "error" in r.json()


async def test_mail_lists_outbox_oldest_first_and_filters(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    with ctx.db.write() as s:
        now = ctx.now(s)
        mail.queue_mail(s, to="a@example.com", subject="one", body="first", now=now)
        mail.queue_mail(s, to="b@example.com", subject="two", body="second", now=now)
        mail.queue_mail(s, to="a@example.com", subject="three", body="third", now=now)
    r = await client.get("/_understudy/mail", headers=ADMIN)
    assert r.status_code == 200
    messages = r.json()["messages"]
    assert [m["subject"] for m in messages] == ["one", "two", "three"]
    assert set(messages[0]) == {"to", "subject", "body", "sent_at"}
    _parse(messages[0]["sent_at"])
    r = await client.get("/_understudy/mail", params={"to": "a@example.com"}, headers=ADMIN)
    assert [m["body"] for m in r.json()["messages"]] == ["first", "third"]


async def test_reset_wipes_data_restarts_ids_and_clock(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    with ctx.db.write() as s:
        now = ctx.now(s)
        a = ledger.open_account(s, key="world:EUR", currency="EUR", now=now, allow_negative=True)
        b = ledger.open_account(s, key="user:1:EUR", currency="EUR", now=now)
        ledger.transfer(s, source=a.id, dest=b.id, amount=500, label="Deposit", now=now)
        mail.queue_mail(s, to="a@example.com", subject="s", body="b", now=now)
    await client.post("/_understudy/clock", json={"advance": 86400}, headers=ADMIN)

    r = await client.post("/_understudy/reset", headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"status": "ok"}

    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ledger.Account)) == 0
        assert s.scalar(select(func.count()).select_from(mail.OutboxMessage)) == 0
    clock = _parse((await client.get("/_understudy/clock", headers=ADMIN)).json()["now"])
    assert clock - datetime.now(UTC) < timedelta(seconds=60)
    with ctx.db.write() as s:
        fresh = ledger.open_account(s, key="again:EUR", currency="EUR", now=ctx.now(s))
        assert fresh.id == 1


async def test_token_is_checked_before_the_body(client: httpx.AsyncClient) -> None:
    bad_json = {"Content-Type": "application/json"}
    r = await client.post("/_understudy/clock", content=b"{not json", headers=bad_json)
    assert r.status_code == 401
    r = await client.post("/_understudy/clock", json={"advance": "soon"})
    assert r.status_code == 401
