"""KYC uploads and operator decisions (§4.4) and the helpdesk (§10)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import ADMIN
from tests.nebeus.helpers import new_user, rpc
from understudy.context import AppContext
from understudy.core import timers
from understudy.core.mail import list_mail
from understudy.nebeus import helpdesk, kyc, outbound
from understudy.nebeus.models import HelpdeskTicket, User, VerificationDocument
from understudy.nebeus.settings import NebeusSettings

UPLOAD = "/verification/upload/1.0/json"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
PDF = base64.b64encode(b"%PDF-1.4\n...").decode()


def err(field: str, message: str) -> dict[str, str]:
    return {"status": "error", "field": field, "message": message}


async def set_state(client: httpx.AsyncClient, login: str, item: str, status: str) -> int:
    r = await client.post(
        "/_understudy/nebeus/verification",
        json={"login": login, "item": item, "status": status},
        headers=ADMIN,
    )
    return r.status_code


async def test_upload_makes_the_item_pending_then_operators_decide(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "k@example.com")
    ok = {"status": "success"}
    assert await rpc(client, UPLOAD, {"item": "identity", "document": PNG}, session=sid) == ok
    again = await rpc(client, UPLOAD, {"item": "identity", "document": PNG}, session=sid)
    assert again == err("item", "Already verified")
    assert await set_state(client, "k@example.com", "identity", "rejected") == 200
    assert await rpc(client, UPLOAD, {"item": "identity", "document": PDF}, session=sid) == ok
    assert await set_state(client, "k@example.com", "identity", "verified") == 200
    verified = await rpc(client, UPLOAD, {"item": "identity", "document": PNG}, session=sid)
    assert verified == err("item", "Already verified")
    with ctx.db.read() as s:
        types = s.scalars(select(VerificationDocument.content_type)).all()
    assert sorted(types) == ["application/pdf", "image/png"]


async def test_upload_errors(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "u@example.com")
    text_file = base64.b64encode(b"hello").decode()
    cases = [
        ({"document": PNG}, err("item", "Item should be specified")),
        ({"item": "phone", "document": PNG}, err("item", "Item is not valid")),
        ({"item": "address"}, err("document", "Document should be specified")),
        ({"item": "address", "document": "%%%"}, err("document", "Document is not valid")),
        ({"item": "address", "document": text_file}, err("document", "Document is not valid")),
    ]
    for params, expected in cases:
        assert await rpc(client, UPLOAD, params, session=sid) == expected, params


async def test_operator_verification_refuses_bad_input(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await new_user(client, ctx, "o@example.com")
    assert await set_state(client, "o@example.com", "phone", "verified") == 200
    assert await set_state(client, "o@example.com", "phone", "pending") == 400
    assert await set_state(client, "o@example.com", "face", "verified") == 400
    assert await set_state(client, "ghost@example.com", "identity", "verified") == 400


async def test_helpdesk_stores_a_ticket(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await new_user(client, ctx, "help@example.com")
    r = await client.post(
        "/helpdesk/message",
        json=[
            {
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"login": "Help@example.com", "name": "Ann", "message": "Hi"},
                "id": None,
            }
        ],
    )
    assert r.json() == [{"jsonrpc": "2.0", "id": None, "result": {"status": "success"}}]
    with ctx.db.read() as s:
        ticket = s.scalars(select(HelpdeskTicket)).one()
        assert (ticket.description, ticket.email_from, ticket.state) == (
            "Hi",
            "Help@example.com",
            "draft",
        )
        assert ticket.partner_id is not None
        assert timers.pending(s, kind=helpdesk.ZENDESK, key=str(ticket.id)) is None  # Zendesk off


async def test_helpdesk_errors(client: httpx.AsyncClient) -> None:
    path = "/helpdesk/message"
    full = {"login": "a@example.com", "name": "Ann", "message": "Hi"}
    assert await rpc(client, path, full | {"login": ""}) == err(
        "email", "Email should be specified"
    )
    assert await rpc(client, path, full | {"login": "nope"}) == err("email", "Email is not valid")
    assert await rpc(client, path, full | {"name": None}) == err("name", "Name should be specified")
    assert await rpc(client, path, {"login": "a@example.com", "name": "A"}) == err(
        "message", "Message should be specified"
    )


async def test_helpdesk_forwards_to_zendesk_when_configured(
    client: httpx.AsyncClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = NebeusSettings(
        zendesk_subdomain="acme", zendesk_email="ops@acme.test", zendesk_token="tok"
    )
    monkeypatch.setattr(helpdesk, "get_settings", lambda: configured)
    sent: list[dict[str, Any]] = []

    def fake_post(url: str, *, auth: tuple[str, str], json: dict[str, Any]) -> int:
        sent.append({"url": url, "auth": auth, "json": json})
        return 201

    monkeypatch.setattr(helpdesk, "zendesk_post", fake_post)
    params = {"login": "z@example.com", "name": "Zed", "message": "Help"}
    assert await rpc(client, "/helpdesk/message", params) == {"status": "success"}
    await client.post("/_understudy/clock", json={"advance": 1}, headers=ADMIN)
    assert sent == [
        {
            "url": "https://acme.zendesk.com/api/v2/tickets.json",
            "auth": ("ops@acme.test/token", "tok"),
            "json": {
                "ticket": {
                    "subject": "Message from Zed",
                    "comment": {"body": "Help"},
                    "requester": {"name": "Zed", "email": "z@example.com"},
                }
            },
        }
    ]


async def test_phone_verification_by_sms_code(client: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await new_user(client, ctx, "ph@example.com")
    path = "/verification/phone/1.0/json"
    step1 = await rpc(client, path, {"phone": "+34 600-111-222"}, session=sid)
    assert step1["method"] == "sms" and step1["time"] == 300000
    mail = (
        await client.get("/_understudy/mail", params={"to": "+34600111222"}, headers=ADMIN)
    ).json()
    code = mail["messages"][-1]["body"].split()[4].rstrip(".")
    assert code.isdigit() and len(code) == 6
    other = await rpc(
        client,
        path,
        {"phone": "+34600111333", "code_id": step1["code_id"], "code": code},
        session=sid,
    )
    assert other == err("code_id", "Code does not match this operation")
    done = await rpc(
        client,
        path,
        {"phone": "+34600111222", "code_id": step1["code_id"], "code": code},
        session=sid,
    )
    assert done == {"status": "success"}
    with ctx.db.read() as s:
        uid = s.scalars(select(User.id).where(User.login == "ph@example.com")).one()
        assert kyc.status(s, user_id=uid, item="phone") == "verified"
        # The SMS stays in the outbox (no SMS gateway) and is never due for SMTP delivery.
        [sms] = list_mail(s, to="+34600111222")
        assert (sms.next_attempt_at, sms.attempts) == (None, 0)
    assert await rpc(client, path, {"phone": "12345"}, session=sid) == err(
        "phone", "Phone is not valid"
    )


async def test_zendesk_call_runs_after_commit_and_failures_are_retried(
    client: httpx.AsyncClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = NebeusSettings(
        zendesk_subdomain="acme", zendesk_email="ops@acme.test", zendesk_token="tok"
    )
    monkeypatch.setattr(helpdesk, "get_settings", lambda: configured)
    answers = [500, 201]
    seen: list[tuple[int, int | None]] = []

    def fake_post(url: str, *, auth: tuple[str, str], json: dict[str, Any]) -> int:
        # No transaction is open: another connection can write, and it sees the committed claim.
        with ctx.db.write() as s:
            [timer] = s.scalars(select(timers.Timer).where(timers.Timer.kind == helpdesk.ZENDESK))
            seen.append((timer.payload["_attempt"], timer.attempts))
            assert timer.payload["_claim"] and timer.payload["subject"] == "Message from Zed"
        return answers.pop(0)

    monkeypatch.setattr(helpdesk, "zendesk_post", fake_post)
    params = {"login": "z@example.com", "name": "Zed", "message": "Help"}
    assert await rpc(client, "/helpdesk/message", params) == {"status": "success"}
    await client.post("/_understudy/clock", json={"advance": 1}, headers=ADMIN)
    with ctx.db.read() as s:
        [timer] = s.scalars(select(timers.Timer).where(timers.Timer.kind == helpdesk.ZENDESK))
        assert timer.attempts == 1 and "500" in (timer.last_error or "")
        # retried after a short backoff (2 s at the first failure), not after the 60 s lease
        assert timer.due_at < ctx.now(s) + outbound.LEASE / 2
    await client.post("/_understudy/clock", json={"advance": 5}, headers=ADMIN)
    assert seen == [(1, 0), (2, 0)] and answers == []
    with ctx.db.read() as s:
        assert (
            s.scalars(select(timers.Timer).where(timers.Timer.kind == helpdesk.ZENDESK)).all() == []
        )
        assert s.scalars(select(HelpdeskTicket.state)).one() == "draft"
