"""The JSON-RPC envelope (contract §1) and sessions (§2)."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.conftest import ADMIN
from tests.nebeus.helpers import PASSWORD, envelope, new_user, rpc
from understudy.context import AppContext
from understudy.nebeus import identity
from understudy.nebeus.models import User, WebSession

HTTP_TEXT = (
    "Function declared as capable of handling request of type 'json' but called with a request "
    "of type 'http'"
)


async def test_a_call_answers_a_bare_envelope_echoing_the_id(client: httpx.AsyncClient) -> None:
    r = await client.post("/logout/1.0/json", json=envelope(rid="abc"))
    assert r.status_code == 200
    assert r.json() == {"jsonrpc": "2.0", "id": "abc", "result": {"status": "success"}}


async def test_a_call_without_id_or_params_answers_id_null(client: httpx.AsyncClient) -> None:
    r = await client.post("/logout/1.0/json", json={"jsonrpc": "2.0", "method": "call"})
    assert r.json() == {"jsonrpc": "2.0", "id": None, "result": {"status": "success"}}


async def test_json_rpc_content_type_is_accepted(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/logout/1.0/json",
        content=b'{"jsonrpc":"2.0","method":"call","params":{},"id":3}',
        headers={"content-type": "application/json-rpc; charset=utf-8"},
    )
    assert r.json()["id"] == 3


async def test_invalid_json_is_http_400_text(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/logout/1.0/json", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("Invalid JSON data: ")


async def test_nan_is_invalid_json(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/logout/1.0/json",
        content=b'{"id": NaN, "params": {}}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.text.startswith("Invalid JSON data: ")


async def test_other_content_type_is_http_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/logout/1.0/json", data={"a": "b"})
    assert r.status_code == 400
    assert r.text == HTTP_TEXT


async def test_get_on_a_json_route_is_http_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/signin/1.0/json")
    assert r.status_code == 400
    assert r.text == HTTP_TEXT


async def test_unknown_path_is_odoo_not_found(client: httpx.AsyncClient) -> None:
    r = await client.post("/nope/1.0/json", json=envelope())
    assert r.status_code == 200
    assert r.json()["error"]["data"]["name"] == "werkzeug.exceptions.NotFound"


async def test_params_not_an_object_is_a_server_error(client: httpx.AsyncClient) -> None:
    r = await client.post("/logout/1.0/json", json={"jsonrpc": "2.0", "params": [1], "id": 9})
    body = r.json()
    assert r.status_code == 200
    assert list(body) == ["jsonrpc", "id", "error"]
    assert body["id"] == 9
    error = body["error"]
    assert (error["code"], error["message"]) == (200, "Odoo Server Error")
    assert list(error["data"]) == ["name", "debug", "message", "arguments", "exception_type"]
    assert error["data"]["name"] == "builtins.TypeError"
    assert error["data"]["exception_type"] == "internal_error"
    assert error["data"]["debug"] == ""


async def test_unknown_params_are_ignored(client: httpx.AsyncClient) -> None:
    result = await rpc(client, "/logout/1.0/json", {"context": {"lang": "es"}, "whatever": 1})
    assert result == {"status": "success"}


async def test_user_route_without_session_is_session_expired(client: httpx.AsyncClient) -> None:
    r = await client.post("/accounts/1.0/json", json=envelope(rid=4))
    body = r.json()
    assert r.status_code == 200
    assert body["id"] == 4
    assert body["error"]["code"] == 100
    assert body["error"]["message"] == "Odoo Session Expired"
    assert body["error"]["data"]["name"] == "openerp.http.SessionExpiredException"
    assert body["error"]["data"]["message"] == "Session expired"


# --- batches ---------------------------------------------------------------------------------


async def test_a_batch_answers_an_array_in_order(client: httpx.AsyncClient) -> None:
    r = await client.post("/logout/1.0/json", json=[envelope(rid=1), envelope(rid=2)])
    assert r.json() == [
        {"jsonrpc": "2.0", "id": 1, "result": {"status": "success"}},
        {"jsonrpc": "2.0", "id": 2, "result": {"status": "success"}},
    ]


async def test_a_non_object_element_is_invalid_request_in_its_slot(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/logout/1.0/json", json=[envelope(rid=1), 5])
    invalid = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "Invalid Request"},
    }
    assert r.json() == [{"jsonrpc": "2.0", "id": 1, "result": {"status": "success"}}, invalid]


async def test_empty_and_oversized_batches_are_one_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    invalid = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "Invalid Request"},
    }
    assert (await client.post("/logout/1.0/json", json=[])).json() == invalid
    big = [envelope(rid=i) for i in range(51)]
    assert (await client.post("/logout/1.0/json", json=big)).json() == invalid
    fifty = await client.post("/logout/1.0/json", json=big[:50])
    assert len(fifty.json()) == 50


async def test_batch_elements_see_the_session_left_by_earlier_ones(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await new_user(client, ctx, "batch@example.com")
    login = envelope({"login": "batch@example.com", "password": PASSWORD}, 1)
    bad = envelope({"login": "batch@example.com", "password": "wrong1234"}, 2)
    r = await client.post("/signin/1.0/json", json=[login, bad])
    first, second = r.json()
    assert "session_id" in first["result"]
    assert second["result"] == {"status": "error", "message": "Login or password is incorrect"}
    assert r.cookies.get("session_id") == first["result"]["session_id"]
    # logout then a user call: the batch's second element no longer has a session
    sid = first["result"]["session_id"]
    client.cookies.clear()
    r = await client.post(
        "/logout/1.0/json",
        json=[envelope(rid=1), envelope(rid=2)],
        headers={"X-Openerp-Session-Id": sid},
    )
    assert [e["result"] for e in r.json()] == [{"status": "success"}] * 2
    expired = await client.post(
        "/accounts/1.0/json", json=envelope(), headers={"X-Openerp-Session-Id": sid}
    )
    assert expired.json()["error"]["code"] == 100


# --- sessions ----------------------------------------------------------------------------------


async def test_signin_sets_the_session_cookie(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await new_user(client, ctx, "cookie@example.com")
    r = await client.post(
        "/signin/1.0/json", json=envelope({"login": "cookie@example.com", "password": PASSWORD})
    )
    sid = r.json()["result"]["session_id"]
    assert len(sid) == 40
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"session_id={sid};")
    assert "Path=/" in cookie and "HttpOnly" in cookie and "Max-Age=7776000" in cookie
    # the client now sends the cookie: a user route works and re-sets it
    again = await client.post("/accounts/1.0/json", json=envelope())
    assert "result" in again.json()
    assert again.headers["set-cookie"].startswith(f"session_id={sid};")


async def test_session_id_lookup_order_query_header_cookie(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    good = await new_user(client, ctx, "order@example.com")
    body = envelope()
    by_query = await client.post(f"/accounts/1.0/json?session_id={good}", json=body)
    assert "result" in by_query.json()
    assert "set-cookie" not in by_query.headers
    by_header = await client.post(
        "/accounts/1.0/json", json=body, headers={"X-Openerp-Session-Id": good}
    )
    assert "result" in by_header.json()
    # the query wins over a valid header
    r = await client.post(
        "/accounts/1.0/json?session_id=bogus", json=body, headers={"X-Openerp-Session-Id": good}
    )
    assert r.json()["error"]["code"] == 100
    # the header wins over a valid cookie
    client.cookies.set("session_id", good)
    r = await client.post(
        "/accounts/1.0/json", json=body, headers={"X-Openerp-Session-Id": "bogus"}
    )
    assert r.json()["error"]["code"] == 100


async def test_logout_ends_the_session_and_expires_the_cookie(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "bye@example.com")
    client.cookies.set("session_id", sid)
    r = await client.post("/logout/1.0/json", json=envelope())
    assert r.json()["result"] == {"status": "success"}
    assert 'session_id=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    client.cookies.clear()
    r = await client.post(
        "/accounts/1.0/json", json=envelope(), headers={"X-Openerp-Session-Id": sid}
    )
    assert r.json()["error"]["code"] == 100


async def test_a_session_dies_after_seven_idle_days(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "idle@example.com")
    await client.post("/_understudy/clock", json={"advance": 6 * 86400}, headers=ADMIN)
    assert (
        "result"
        in (await client.post(f"/accounts/1.0/json?session_id={sid}", json=envelope())).json()
    )
    await client.post("/_understudy/clock", json={"advance": 6 * 86400}, headers=ADMIN)
    assert (
        "result"
        in (await client.post(f"/accounts/1.0/json?session_id={sid}", json=envelope())).json()
    )
    await client.post("/_understudy/clock", json={"advance": 7 * 86400 + 1}, headers=ADMIN)
    r = await client.post(f"/accounts/1.0/json?session_id={sid}", json=envelope())
    assert r.json()["error"]["code"] == 100


async def test_a_deactivated_user_loses_their_sessions(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "gone@example.com")
    with ctx.db.write() as s:
        s.execute(update(User).where(User.login == "gone@example.com").values(active=False))
    r = await client.post(f"/accounts/1.0/json?session_id={sid}", json=envelope())
    assert r.json()["error"]["code"] == 100


async def test_sessions_of_two_users_are_isolated(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    a = await new_user(client, ctx, "a@example.com")
    b = await new_user(client, ctx, "b@example.com")
    accounts_a = await rpc(client, "/accounts/1.0/json", session=a)
    accounts_b = await rpc(client, "/accounts/1.0/json", session=b)
    assert {x["id"] for x in accounts_a}.isdisjoint({x["id"] for x in accounts_b})


async def test_a_crash_is_an_odoo_server_error_with_traceback_only_in_debug(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(session: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(identity, "list_countries", explode)
    r = await client.post("/get_countries/1.0/json", json=envelope(rid=5))
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == 5
    assert (body["error"]["code"], body["error"]["message"]) == (200, "Odoo Server Error")
    data = body["error"]["data"]
    assert (data["name"], data["message"], data["arguments"]) == (
        "builtins.RuntimeError",
        "boom",
        ["boom"],
    )
    assert data["exception_type"] == "internal_error"
    assert data["debug"] == ""
    app.state.debug = True
    r = await client.post("/get_countries/1.0/json", json=envelope(rid=5))
    assert "Traceback" in r.json()["error"]["data"]["debug"]


async def test_nul_characters_are_refused_before_the_database(client: httpx.AsyncClient) -> None:
    r = await client.post("/signin/1.0/json", json=envelope({"login": "a\x00b", "password": "x"}))
    assert r.json()["error"]["data"]["name"] == "builtins.ValueError"
    r = await client.post(
        "/accounts/1.0/json", json=envelope(), headers={"X-Openerp-Session-Id": "a\x00b"}
    )
    assert r.json()["error"]["code"] == 100
    r = await client.post(
        "/_understudy/nebeus/deposit",
        json={"login": "\x00", "currency": "EUR", "amount": 1},
        headers=ADMIN,
    )
    assert r.status_code == 400


async def test_read_only_calls_do_not_wait_for_the_writer(
    client: httpx.AsyncClient, ctx: AppContext, is_postgres: bool
) -> None:
    if is_postgres:
        pytest.skip("SQLite's single writer is what read-only calls avoid; PostgreSQL has none")
    sid = await new_user(client, ctx, "reader@example.com")
    partner = (
        await rpc(client, "/signin/1.0/json", {"login": "reader@example.com", "password": PASSWORD})
    )["partner_id"]
    client.cookies.clear()
    # A fresh session needs no touch; a first call stores the chat presence (then due in 50 s).
    await rpc(client, "/accounts/1.0/json", session=sid)
    with ctx.db.write() as s:
        s.execute(select(1))  # BEGIN IMMEDIATE: this test holds the write lock meanwhile
        for path in (
            "/accounts/1.0/json",
            "/accounts/transactions/1.0/json",
            "/payment_sources/1.0/json",
            "/btc/get_buy_limit/1.0/json",
            "/utils/get_buy_currencies/1.0/json",
            "/utils/get_sell_currencies/1.0/json",
            "/utils/get_currencies/1.0/json",
            "/get_countries/1.0/json",
            "/card2card/search/1.0/json",
        ):
            assert await rpc(client, path, session=sid) is not None
        image = await client.get(f"/partner/{partner}/profile_image?session_id={sid}")
        assert image.status_code == 200


async def test_read_only_calls_touch_the_session_at_most_once_a_minute(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await new_user(client, ctx, "touch@example.com")

    def last_seen() -> datetime | None:
        with ctx.db.read() as s:
            row = s.get(WebSession, sid)
            return row.last_seen if row else None

    first = last_seen()
    await rpc(client, "/accounts/1.0/json", session=sid)
    assert last_seen() == first  # within the minute: nothing written
    await client.post("/_understudy/clock", json={"advance": 120}, headers=ADMIN)
    await rpc(client, "/accounts/1.0/json", session=sid)
    touched = last_seen()
    assert first is not None and touched is not None and touched > first + timedelta(seconds=60)
    await client.post("/_understudy/clock", json={"advance": 8 * 86400}, headers=ADMIN)
    r = await client.post(f"/payment_sources/1.0/json?session_id={sid}", json=envelope())
    assert r.json()["error"]["code"] == 100
