"""im_chat (contract §11): sessions, address book, posting, history, init, presence, isolation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import ADMIN
from tests.nebeus.helpers import rpc, signup_params
from understudy.context import AppContext
from understudy.nebeus import chat_api, identity
from understudy.nebeus.chat_models import ChatMessage
from understudy.nebeus.models import WebSession
from understudy.nebeus.settings import NebeusSettings

API = "/im_chat/api"
NO_SESSION = {"status": "error", "field": "uuid", "message": "Session does not exist"}
OK = {"status": "success"}
SESSION_KEYS = [
    "create_date",
    "uuid",
    "with_documents",
    "status",
    "state",
    "is_group",
    "is_read",
    "groups",
    "docs",
    "users",
]

pytestmark = pytest.mark.usefixtures("stop_hub")


@dataclass
class Person:
    """A signed-in chat user."""

    sid: str
    uid: int
    partner_id: int
    name: str
    login: str


def person(ctx: AppContext, login: str, name: str, surname: str) -> Person:
    """A user signed up by the real rules (password hashing skipped) with a live session."""
    with ctx.db.write() as s:
        now = ctx.now(s)
        params = signup_params(ctx, login, name=name, surname=surname)
        user = identity.signup(s, params=params, now=now)
        sid = secrets.token_hex(20)
        s.add(WebSession(id=sid, user_id=user.id, created_at=now, last_seen=now))
        return Person(
            sid=sid, uid=user.id, partner_id=user.partner_id, name=f"{name} {surname}", login=login
        )


@pytest.fixture
def trio(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> list[Person]:
    """Three users: Lucid Lynx, Oneiric Ocelot, Precise Pangolin."""
    return make_trio(ctx, monkeypatch)


def make_trio(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> list[Person]:
    """Three users: Lucid Lynx, Oneiric Ocelot, Precise Pangolin."""
    monkeypatch.setattr(identity, "hash_password", lambda password: "not-checked-here")
    return [
        person(ctx, "lucid@example.com", "Lucid", "Lynx"),
        person(ctx, "oneiric@example.com", "Oneiric", "Ocelot"),
        person(ctx, "precise@example.com", "Precise", "Pangolin"),
    ]


async def call(client: httpx.AsyncClient, who: Person, path: str, **params: Any) -> Any:
    """A chat call as this user."""
    return await rpc(client, path, params, session=who.sid)


async def make_group(client: httpx.AsyncClient, name: str, logins: list[str]) -> int:
    """An operator-made group."""
    r = await client.post(
        "/_understudy/nebeus/chat_groups", json={"name": name, "logins": logins}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def assert_session_shape(info: dict[str, Any]) -> None:
    """The seed's session object (plain keys per the contract)."""
    assert list(info) == SESSION_KEYS
    assert isinstance(info["create_date"], str) and len(info["create_date"]) == 19
    assert len(info["uuid"]) == 36
    assert info["state"] in ("open", "folded", "closed")
    assert info["status"] in ("active", "favorite", "archive")
    for doc in info["docs"]:
        assert list(doc) == ["doc_model", "doc_id", "id"]
    for user in info["users"]:
        assert list(user) == ["im_status", "id", "name", "partner_id", "last_message"]
        assert user["im_status"] in ("online", "away", "offline")
        assert isinstance(user["partner_id"], list) and len(user["partner_id"]) == 2


async def test_one_to_one_session_is_reused_per_pair_and_document(
    client: httpx.AsyncClient, trio: list[Person]
) -> None:
    lucid, oneiric, _ = trio
    first = await call(client, lucid, f"{API}/get_or_create_session", user_to=oneiric.uid)
    assert_session_shape(first)
    assert first["is_group"] is False and first["groups"] == [] and first["docs"] == []
    assert first["with_documents"] is False and first["state"] == "open" and first["is_read"]
    assert [(u["id"], u["name"]) for u in first["users"]] == [
        (lucid.uid, "Lucid Lynx"),
        (oneiric.uid, "Oneiric Ocelot"),
    ]
    assert first["users"][0]["partner_id"] == [lucid.partner_id, "Lucid Lynx"]
    assert first["users"][0]["im_status"] == "online"  # the call itself is activity
    assert first["users"][0]["last_message"] is False
    again = await call(client, oneiric, f"{API}/get_or_create_session", user_to=str(lucid.uid))
    assert again["uuid"] == first["uuid"]
    doc = {"doc_model": "res.partner", "doc_id": "25"}
    linked = await call(client, lucid, f"{API}/get_or_create_session", user_to=oneiric.uid, **doc)
    assert linked["uuid"] != first["uuid"]
    assert linked["with_documents"] is True
    assert linked["docs"] == [
        {"doc_model": "res.partner", "doc_id": 25, "id": linked["docs"][0]["id"]}
    ]
    same = await call(client, oneiric, f"{API}/get_or_create_session", user_to=lucid.uid, **doc)
    assert same["uuid"] == linked["uuid"]
    # Closed, then asked for again: reopened.
    closed = await call(
        client, lucid, f"{API}/change_session_state", uuid=first["uuid"], state="closed"
    )
    assert closed == {"status": "success", "state": "closed"}
    reopened = await call(client, lucid, f"{API}/get_or_create_session", user_to=oneiric.uid)
    assert (reopened["uuid"], reopened["state"]) == (first["uuid"], "open")


async def test_get_or_create_session_errors(client: httpx.AsyncClient, trio: list[Person]) -> None:
    lucid, oneiric, _ = trio
    path = f"{API}/get_or_create_session"

    def err(field: str, message: str) -> dict[str, str]:
        return {"status": "error", "field": field, "message": message}

    cases = [
        ({}, err("user_to", "User should be specified")),
        ({"user_to": 99999}, err("user_to", "User does not exist")),
        ({"user_to": "abc"}, err("user_to", "User does not exist")),
        ({"user_to": lucid.uid}, err("user_to", "User does not exist")),
        ({"user_to": oneiric.uid, "doc_id": 3}, err("doc_model", "Doc model should be specified")),
        (
            {"user_to": oneiric.uid, "doc_id": "x", "doc_model": "a"},
            err("doc_id", "Doc id is not valid"),
        ),
        (
            {"user_to": oneiric.uid, "doc_model": "res.partner"},
            err("doc_id", "Doc id should be specified"),
        ),
        (
            {"user_to": oneiric.uid, "doc_model": "bad model", "doc_id": 1},
            err("doc_model", "Doc model is not valid"),
        ),
    ]
    for params, expected in cases:
        assert await call(client, lucid, path, **params) == expected, params
    r = await client.post(path, json={"jsonrpc": "2.0", "method": "call", "params": {}, "id": 1})
    assert r.json()["error"]["code"] == 100  # no session


async def test_group_sessions_follow_group_membership(
    client: httpx.AsyncClient, trio: list[Person]
) -> None:
    lucid, oneiric, precise = trio
    news = await make_group(client, "News", [lucid.login, oneiric.login])
    path = f"{API}/get_or_create_session_group"
    info = await call(client, lucid, path, group=news)
    assert_session_shape(info)
    assert info["is_group"] is True and info["groups"] == [{"id": news, "name": "News"}]
    assert [u["id"] for u in info["users"]] == [lucid.uid, oneiric.uid]
    denied = {"status": "error", "field": "group", "message": "Group does not exist"}
    assert await call(client, precise, path, group=news) == denied
    assert await call(client, lucid, path, group=news + 100) == denied
    assert (
        await call(
            client,
            precise,
            "/im_chat/post",
            uuid=info["uuid"],
            message_type="message",
            message_content="hi",
        )
        == NO_SESSION
    )
    # The operator replaces the members: the session follows at once.
    assert await make_group(client, "News", [lucid.login, precise.login]) == news
    again = await call(client, precise, path, group=news)
    assert again["uuid"] == info["uuid"]
    assert [u["id"] for u in again["users"]] == [lucid.uid, precise.uid]
    assert await call(client, oneiric, f"{API}/history", uuid=info["uuid"]) == NO_SESSION
    listed = await call(client, lucid, f"{API}/get_sessions_group", group=news)
    assert [s["uuid"] for s in listed] == [info["uuid"]]
    assert await call(client, oneiric, f"{API}/get_sessions_group") == []
    assert await call(client, oneiric, f"{API}/get_sessions_group", group=news) == denied
    bad = await client.post(
        "/_understudy/nebeus/chat_groups",
        json={"name": "X", "logins": ["nobody@x.y"]},
        headers=ADMIN,
    )
    assert bad.status_code == 400


async def test_get_sessions_filters_newest_first(
    client: httpx.AsyncClient, trio: list[Person]
) -> None:
    lucid, oneiric, precise = trio
    get = f"{API}/get_or_create_session"
    a = await call(client, lucid, get, user_to=oneiric.uid)
    b = await call(client, lucid, get, user_to=precise.uid)
    c = await call(client, lucid, get, user_to=oneiric.uid, doc_model="res.partner", doc_id=25)
    listed = await call(client, lucid, f"{API}/get_sessions")
    assert [s["uuid"] for s in listed] == [c["uuid"], b["uuid"], a["uuid"]]
    for info in listed:
        assert_session_shape(info)
    with_oneiric = await call(client, lucid, f"{API}/get_sessions", user_to=oneiric.uid)
    assert [s["uuid"] for s in with_oneiric] == [c["uuid"], a["uuid"]]
    docs = await call(client, lucid, f"{API}/get_sessions", doc_model="res.partner", doc_id="25")
    assert [s["uuid"] for s in docs] == [c["uuid"]]
    await call(client, lucid, f"{API}/change_session_state", uuid=b["uuid"], state="folded")
    folded = await call(client, lucid, f"{API}/get_sessions", state="folded")
    assert [s["uuid"] for s in folded] == [b["uuid"]]
    assert await call(client, precise, f"{API}/get_sessions", user_to=oneiric.uid) == []
    assert await call(client, lucid, f"{API}/get_sessions", state="gone") == {
        "status": "error",
        "field": "state",
        "message": "State is not valid",
    }
    assert await call(client, lucid, f"{API}/get_sessions", user_to=424242) == {
        "status": "error",
        "field": "user_to",
        "message": "User does not exist",
    }
    assert await call(client, lucid, f"{API}/get_sessions_group") == []


async def test_address_book(client: httpx.AsyncClient, trio: list[Person]) -> None:
    lucid, oneiric, precise = trio
    ab = f"{API}/user_chat_ab"
    everyone = await call(client, lucid, f"{ab}/get_all_users")
    assert everyone == [
        {"im_status": "offline", "id": oneiric.uid, "name": "Oneiric Ocelot"},
        {"im_status": "offline", "id": precise.uid, "name": "Precise Pangolin"},
    ]
    assert await call(client, lucid, f"{ab}/get_users_from_book") == []
    assert await call(client, lucid, f"{ab}/add_users", user_ids=[oneiric.uid]) == OK
    assert await call(client, lucid, f"{ab}/add_users", user_ids=[oneiric.uid]) == OK  # idempotent
    assert [u["id"] for u in await call(client, lucid, f"{ab}/get_users_from_book")] == [
        oneiric.uid
    ]
    assert [u["id"] for u in await call(client, lucid, f"{ab}/get_all_users")] == [precise.uid]
    assert (
        await call(client, lucid, f"{ab}/remove_users", user_ids=[oneiric.uid, precise.uid]) == OK
    )
    assert await call(client, lucid, f"{ab}/get_users_from_book") == []
    not_list = {"status": "error", "message": "user_ids is not list"}
    invalid = {"status": "error", "message": "input parameters are not valid"}
    for bad, expected in [
        ({"user_ids": 5}, not_list),
        ({}, not_list),
        ({"user_ids": "1,2"}, not_list),
        ({"user_ids": [99999]}, invalid),
        ({"user_ids": ["x"]}, invalid),
        ({"user_ids": [lucid.uid]}, invalid),
    ]:
        assert await call(client, lucid, f"{ab}/add_users", **bad) == expected, bad
        assert await call(client, lucid, f"{ab}/remove_users", **bad) == expected, bad
    # add_partner: only into one's own book.
    own = {"parent_partner_id": lucid.partner_id, "child_partner_id": precise.partner_id}
    assert await call(client, lucid, f"{ab}/add_partner", **own) == OK
    assert [u["id"] for u in await call(client, lucid, f"{ab}/get_users_from_book")] == [
        precise.uid
    ]
    foreign = {"parent_partner_id": oneiric.partner_id, "child_partner_id": precise.partner_id}
    assert await call(client, lucid, f"{ab}/add_partner", **foreign) == invalid
    unknown = {"parent_partner_id": lucid.partner_id, "child_partner_id": 99999}
    assert await call(client, lucid, f"{ab}/add_partner", **unknown) == invalid
    assert await call(client, lucid, f"{ab}/add_partner") == invalid
    assert await call(client, oneiric, f"{ab}/get_users_from_book") == []


async def test_post_types_effects_and_errors(
    client: httpx.AsyncClient, ctx: AppContext, trio: list[Person]
) -> None:
    lucid, oneiric, _ = trio
    info = await call(client, lucid, f"{API}/get_or_create_session", user_to=oneiric.uid)
    uuid = info["uuid"]
    await call(client, oneiric, f"{API}/get_or_create_session", user_to=lucid.uid)
    await call(client, oneiric, f"{API}/change_session_state", uuid=uuid, state="closed")
    posted = await call(
        client, lucid, "/im_chat/post", uuid=uuid, message_type="message", message_content="888"
    )
    assert list(posted) == ["message_id"] and isinstance(posted["message_id"], int)
    typing = await call(
        client, lucid, "/im_chat/post", uuid=uuid, message_type="typing", message_content=""
    )
    assert typing == {"message_id": False}
    offer = await call(
        client,
        lucid,
        "/im_chat/post",
        uuid=uuid,
        message_type="money4_chat_attach_msg",
        message_content={"loan_id": 12},
    )
    meta = await call(
        client, lucid, "/im_chat/post", uuid=uuid, message_type="meta", message_content="joined"
    )
    assert offer["message_id"] < meta["message_id"]
    with ctx.db.read() as s:
        stored = s.scalars(select(ChatMessage.type).order_by(ChatMessage.id)).all()
    assert stored == ["message", "money4_chat_attach_msg", "meta"]  # typing is not stored
    theirs = (await call(client, oneiric, f"{API}/get_sessions"))[0]
    assert (theirs["state"], theirs["is_read"]) == ("folded", False)  # closed -> folded, unread
    mine = (await call(client, lucid, f"{API}/get_sessions"))[0]
    assert (mine["state"], mine["is_read"]) == ("open", True)
    sender = next(u for u in mine["users"] if u["id"] == lucid.uid)
    assert sender["last_message"]["message"] == "joined"
    assert list(sender["last_message"]) == ["type", "message", "create_date", "id"]

    def err(field: str, message: str) -> dict[str, str]:
        return {"status": "error", "field": field, "message": message}

    post = "/im_chat/post"
    cases = [
        ({"message_type": "message", "message_content": "x"}, NO_SESSION),
        ({"uuid": "0" * 36, "message_type": "message", "message_content": "x"}, NO_SESSION),
        (
            {"uuid": uuid, "message_content": "x"},
            err("message_type", "Message type should be specified"),
        ),
        (
            {"uuid": uuid, "message_type": "sms", "message_content": "x"},
            err("message_type", "Message type is not valid"),
        ),
        (
            {"uuid": uuid, "message_type": "message", "message_content": "  "},
            err("message_content", "Message should be specified"),
        ),
        (
            {"uuid": uuid, "message_type": "message"},
            err("message_content", "Message should be specified"),
        ),
        (
            {"uuid": uuid, "message_type": "message", "message_content": {"a": 1}},
            err("message_content", "Message is not valid"),
        ),
        (
            {"uuid": uuid, "message_type": "message", "message_content": "x" * 10_001},
            err("message_content", "Message is too long (at most 10000 characters)"),
        ),
    ]
    for params, expected in cases:
        assert await call(client, lucid, post, **params) == expected, params
    history = await call(client, oneiric, f"{API}/history", uuid=uuid)
    assert [h["message"] for h in history] == ["joined", '{"loan_id":12}', "888"]


async def test_history_pages_newest_first_and_marks_read(
    client: httpx.AsyncClient, trio: list[Person]
) -> None:
    lucid, oneiric, _ = trio
    uuid = (await call(client, lucid, f"{API}/get_or_create_session", user_to=oneiric.uid))["uuid"]
    ids = []
    for n, who in enumerate([lucid, lucid, oneiric, lucid, oneiric]):
        posted = await call(
            client, who, "/im_chat/post", uuid=uuid, message_type="message", message_content=str(n)
        )
        ids.append(posted["message_id"])
    page = await call(client, lucid, f"{API}/history", uuid=uuid, limit=2)
    assert [h["id"] for h in page] == [ids[4], ids[3]]
    newest = page[0]
    assert list(newest) == [
        "create_date",
        "to_id",
        "message",
        "type",
        "id",
        "from_id",
        "from_partner_id",
    ]
    assert newest["to_id"][1] == uuid and isinstance(newest["to_id"][0], int)
    assert newest["from_id"] == [oneiric.uid, "Oneiric Ocelot"]
    assert newest["from_partner_id"] == [oneiric.partner_id, "Oneiric Ocelot"]
    assert (newest["message"], newest["type"]) == ("4", "message")
    nxt = await call(client, lucid, f"{API}/history", uuid=uuid, last_ID=page[-1]["id"], limit=2)
    assert [h["id"] for h in nxt] == [ids[2], ids[1]]
    rest = await call(client, lucid, f"{API}/history", uuid=uuid, last_id=nxt[-1]["id"])
    assert [h["id"] for h in rest] == [ids[0]]
    assert len(await call(client, lucid, f"{API}/history", uuid=uuid)) == 5
    before = (await call(client, lucid, f"{API}/get_sessions"))[0]
    after_post = await call(
        client,
        oneiric,
        "/im_chat/post",
        uuid=uuid,
        message_type="message",
        message_content="unread",
    )
    assert after_post["message_id"]
    assert before["is_read"] is True
    assert (await call(client, lucid, f"{API}/get_sessions"))[0]["is_read"] is False
    await call(client, lucid, f"{API}/history", uuid=uuid, limit=1)
    assert (await call(client, lucid, f"{API}/get_sessions"))[0]["is_read"] is True
    bad = await call(client, lucid, f"{API}/history", uuid=uuid, last_ID="x")
    assert bad == {"status": "error", "field": "last_ID", "message": "Last id is not valid"}
    bad = await call(client, lucid, f"{API}/history", uuid=uuid, limit=0)
    assert bad == {"status": "error", "field": "limit", "message": "Limit is not valid"}


async def test_init_searches_names_online_first_with_last_message(
    client: httpx.AsyncClient, ctx: AppContext, trio: list[Person]
) -> None:
    lucid, oneiric, precise = trio
    uuid = (await call(client, lucid, f"{API}/get_or_create_session", user_to=precise.uid))["uuid"]
    posted = await call(
        client, precise, "/im_chat/post", uuid=uuid, message_type="message", message_content="hello"
    )
    # precise is online (just posted); oneiric never used the chat: offline.
    contacts = await call(client, lucid, f"{API}/init", name="")
    assert [c["id"] for c in contacts] == [precise.uid, oneiric.uid]
    first = contacts[0]
    assert list(first) == ["last_message", "im_status", "id", "name", "email", "partner_id"]
    assert first["last_message"]["id"] == posted["message_id"]
    assert list(first["last_message"]) == ["type", "create_date", "id"]
    assert (first["im_status"], first["email"], first["partner_id"]) == (
        "online",
        "precise@example.com",
        precise.partner_id,
    )
    assert contacts[1]["last_message"] is False and contacts[1]["im_status"] == "offline"
    assert [c["id"] for c in await call(client, lucid, f"{API}/init", name="OCEL")] == [oneiric.uid]
    assert [c["id"] for c in await call(client, lucid, f"{API}/init")] == [precise.uid, oneiric.uid]
    assert len(await call(client, lucid, f"{API}/init", name="", limit=1)) == 1
    assert await call(client, lucid, f"{API}/init", name="%") == []
    assert await call(client, lucid, f"{API}/init", limit="many") == {
        "status": "error",
        "field": "limit",
        "message": "Limit is not valid",
    }


async def test_status_and_state_changes(client: httpx.AsyncClient, trio: list[Person]) -> None:
    lucid, oneiric, precise = trio
    uuid = (await call(client, lucid, f"{API}/get_or_create_session", user_to=oneiric.uid))["uuid"]
    status = f"{API}/change_session_status"
    assert await call(client, lucid, status, uuid=uuid, new_status="favorite") == OK
    assert (await call(client, lucid, f"{API}/get_sessions"))[0]["status"] == "favorite"
    assert (await call(client, oneiric, f"{API}/get_sessions"))[0]["status"] == "active"
    assert await call(client, lucid, status, uuid=uuid, new_status="deleted") == {
        "status": "error",
        "field": "new_status",
        "message": "Status is not valid",
    }
    assert await call(client, lucid, status, uuid="nope", new_status="archive") == NO_SESSION
    assert await call(client, precise, status, uuid=uuid, new_status="archive") == NO_SESSION
    state = f"{API}/change_session_state"
    assert await call(client, lucid, state, uuid=uuid) == {"status": "success", "state": "folded"}
    assert await call(client, lucid, state, uuid=uuid) == {"status": "success", "state": "open"}
    assert await call(client, lucid, state, uuid=uuid, state="closed") == {
        "status": "success",
        "state": "closed",
    }
    assert await call(client, lucid, state, uuid=uuid) == {"status": "success", "state": "open"}
    assert await call(client, lucid, state, uuid=uuid, state="big") == {
        "status": "error",
        "field": "state",
        "message": "State is not valid",
    }
    assert await call(client, precise, state, uuid=uuid) == NO_SESSION


async def test_outsiders_never_read_or_post(
    client: httpx.AsyncClient, ctx: AppContext, trio: list[Person]
) -> None:
    lucid, oneiric, precise = trio
    uuid = (await call(client, lucid, f"{API}/get_or_create_session", user_to=oneiric.uid))["uuid"]
    await call(
        client, lucid, "/im_chat/post", uuid=uuid, message_type="message", message_content="secret"
    )
    assert await call(client, precise, f"{API}/history", uuid=uuid) == NO_SESSION
    for kind in ("message", "typing"):
        denied = await call(
            client, precise, "/im_chat/post", uuid=uuid, message_type=kind, message_content="x"
        )
        assert denied == NO_SESSION
    assert await call(client, precise, f"{API}/get_sessions") == []
    polled = await call(client, precise, "/longpolling/poll", channels=[uuid], last=0)
    assert polled == []  # a foreign session's channel is not served
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ChatMessage)) == 1


async def test_presence_online_away_offline(client: httpx.AsyncClient, trio: list[Person]) -> None:
    lucid, oneiric, _ = trio

    async def status_of_oneiric() -> str:
        users = await call(client, lucid, f"{API}/user_chat_ab/get_all_users")
        return next(u["im_status"] for u in users if u["id"] == oneiric.uid)

    assert await status_of_oneiric() == "offline"
    await call(
        client,
        oneiric,
        "/longpolling/poll",
        channels=[],
        last=1 << 40,
        options={"im_presence": True},
    )
    assert await status_of_oneiric() == "online"
    await client.post("/_understudy/clock", json={"advance": 56}, headers=ADMIN)
    assert await status_of_oneiric() == "offline"  # no poll for 55 s
    await client.post("/_understudy/clock", json={"advance": 550}, headers=ADMIN)
    await call(client, oneiric, "/longpolling/poll", channels=[], last=1 << 40)
    assert await status_of_oneiric() == "away"  # polling, but no activity for 600 s
    await call(client, oneiric, f"{API}/get_sessions")
    assert await status_of_oneiric() == "online"


async def test_colon_aliases_when_configured(
    client: httpx.AsyncClient, trio: list[Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    lucid, oneiric, _ = trio
    monkeypatch.setattr(chat_api, "get_settings", lambda: NebeusSettings(chat_colon_aliases=True))
    info = await call(client, lucid, f"{API}/get_or_create_session", user_to=oneiric.uid)
    assert info["docs:"] == info["docs"] == [] and info["with_documents:"] is False
