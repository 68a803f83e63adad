"""im_chat routes on the wire (contract §11): sessions, address book, posting, history."""

from __future__ import annotations

import re
from typing import Any

from understudy.core.db import MAX_ID
from understudy.nebeus import chat, chat_book, chat_bus, chat_presence
from understudy.nebeus.chat_models import ChatPresence
from understudy.nebeus.chat_presence import Note
from understudy.nebeus.jsonrpc import Call, Failure, error, field_error, on_activity, route
from understudy.nebeus.params import as_int, blank, optional_int
from understudy.nebeus.settings import get_settings

STR = {"type": "string"}
INT = {"type": "integer"}
ID = {"type": ["integer", "string"]}
DOC = {"doc_id": ID, "doc_model": STR}
DOC_MODEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,63}$")
DEFAULT_LIMIT = 20
P = "/im_chat/api"


def refused(exc: chat.ChatError) -> Failure:
    """A ChatError as the documented result."""
    return field_error(exc.field, exc.message) if exc.field else error(exc.message)


def send(call: Call, notes: list[Note]) -> None:
    """Put notes on the bus in this call's transaction."""
    chat_bus.hub_for(call.request.app).send(call.db, notes, call.now)


@on_activity
def active(call: Call) -> None:
    """Any signed-in call is activity: the caller is online (contacts told of a change).

    A read-only call writes only when the presence is due (at most every TIMEOUT, or on a change).
    """
    if call.readonly:
        row = call.db.get(ChatPresence, call.uid)
        if chat_presence.touch_due(row, now=call.now, user_presence=True):
            call.require_write()
        return
    send(call, chat_presence.touch(call.db, user_id=call.uid, now=call.now, user_presence=True))


def render(info: dict[str, Any]) -> dict[str, Any]:
    """A session object, with the seed's colon keys too when CHAT_COLON_ALIASES is set."""
    if get_settings().chat_colon_aliases:
        info = info | {"with_documents:": info["with_documents"], "docs:": info["docs"]}
    return info


def doc_link(call: Call, *, required_id: bool) -> tuple[str | None, int | None]:
    """`doc_model` and `doc_id` (an id needs a model; a model alone only filters)."""
    model, ident = call.params.get("doc_model"), call.params.get("doc_id")
    doc_id: int | None = None
    if not blank(ident):
        doc_id = as_int(ident)
        if doc_id is None or doc_id < 0 or doc_id > MAX_ID:
            raise field_error("doc_id", "Doc id is not valid")
    if blank(model):
        if doc_id is not None:
            raise field_error("doc_model", "Doc model should be specified")
        return None, None
    if not isinstance(model, str) or not DOC_MODEL.match(model.strip()):
        raise field_error("doc_model", "Doc model is not valid")
    if doc_id is None and required_id:
        raise field_error("doc_id", "Doc id should be specified")
    return model.strip(), doc_id


def _doc(call: Call) -> chat.Doc | None:
    model, ident = doc_link(call, required_id=True)
    return chat.Doc(model, ident) if model is not None and ident is not None else None


def _id_param(call: Call, name: str, *, label: str, missing: str) -> int:
    value = call.params.get(name)
    if blank(value):
        raise field_error(name, f"{label} should be specified")
    number = as_int(value)
    if number is None:
        raise field_error(name, missing)
    return number


def _state_filter(call: Call) -> str | None:
    state = call.params.get("state")
    if blank(state):
        return None
    if state not in chat.STATES:
        raise field_error("state", "State is not valid")
    return str(state)


def _infos(call: Call, sessions: list[Any]) -> list[dict[str, Any]]:
    return [render(chat.session_info(call.db, s, call.uid, call.now)) for s in sessions]


@route(f"{P}/get_or_create_session", params={"user_to": INT} | DOC, summary="1:1 session")
def get_or_create_session(call: Call) -> dict[str, Any]:
    """The caller's session with `user_to` for this document link (reopened), else a new one."""
    user_to = _id_param(call, "user_to", label="User", missing="User does not exist")
    doc = _doc(call)
    try:
        session, notes = chat.get_or_create_session(
            call.db, user_id=call.uid, user_to=user_to, doc=doc, now=call.now
        )
    except chat.ChatError as exc:
        raise refused(exc) from None
    send(call, notes)
    return render(chat.session_info(call.db, session, call.uid, call.now))


@route(f"{P}/get_or_create_session_group", params={"group": INT} | DOC, summary="Group session")
def get_or_create_session_group(call: Call) -> dict[str, Any]:
    """The group's session for this document link (members synced), else a new one."""
    group = _id_param(call, "group", label="Group", missing="Group does not exist")
    doc = _doc(call)
    try:
        session, notes = chat.get_or_create_group_session(
            call.db, user_id=call.uid, group_id=group, doc=doc, now=call.now
        )
    except chat.ChatError as exc:
        raise refused(exc) from None
    send(call, notes)
    return render(chat.session_info(call.db, session, call.uid, call.now))


@route(
    f"{P}/get_sessions",
    params={"user_to": INT, "state": STR} | DOC,
    summary="The caller's 1:1 sessions",
)
def get_sessions(call: Call) -> list[dict[str, Any]]:
    """The caller's 1:1 sessions matching the filters, newest first."""
    with_user = None
    if not blank(call.params.get("user_to")):
        with_user = chat.active_user(call.db, as_int(call.params["user_to"]))
        if with_user is None:
            raise field_error("user_to", "User does not exist")
    model, ident = doc_link(call, required_id=False)
    found = chat.sessions_of(
        call.db,
        user_id=call.uid,
        is_group=False,
        with_user=with_user.id if with_user else None,
        doc_model=model,
        doc_id=ident,
        state=_state_filter(call),
    )
    return _infos(call, found)


@route(
    f"{P}/get_sessions_group",
    params={"group": INT, "state": STR} | DOC,
    summary="The caller's group sessions",
)
def get_sessions_group(call: Call) -> list[dict[str, Any]]:
    """The caller's group sessions matching the filters, newest first."""
    group_id = None
    if not blank(call.params.get("group")):
        try:
            group_id = chat.group_of(
                call.db, user_id=call.uid, group_id=as_int(call.params["group"])
            ).id
        except chat.ChatError as exc:
            raise refused(exc) from None
    model, ident = doc_link(call, required_id=False)
    found = chat.sessions_of(
        call.db,
        user_id=call.uid,
        is_group=True,
        group_id=group_id,
        doc_model=model,
        doc_id=ident,
        state=_state_filter(call),
    )
    return _infos(call, found)


@route(f"{P}/user_chat_ab/get_all_users", summary="Users outside the address book")
def get_all_users(call: Call) -> list[dict[str, Any]]:
    """Other active users who are not in the caller's address book."""
    return chat_book.book(call.db, user_id=call.uid, inside=False, now=call.now)


@route(f"{P}/user_chat_ab/get_users_from_book", summary="Users in the address book")
def get_users_from_book(call: Call) -> list[dict[str, Any]]:
    """The users in the caller's address book."""
    return chat_book.book(call.db, user_id=call.uid, inside=True, now=call.now)


def _user_ids(call: Call) -> list[int]:
    value = call.params.get("user_ids")
    if not isinstance(value, list):
        raise error("user_ids is not list")
    ids = [as_int(v) for v in value]
    if any(i is None for i in ids):
        raise error("input parameters are not valid")
    return [i for i in ids if i is not None]


USER_IDS = {"user_ids": {"type": "array", "items": INT}}


@route(f"{P}/user_chat_ab/add_users", params=USER_IDS, summary="Add to the address book")
def add_users(call: Call) -> dict[str, str]:
    """Put users in the caller's address book (idempotent)."""
    try:
        chat_book.add_to_book(call.db, user_id=call.uid, user_ids=_user_ids(call))
    except chat.ChatError as exc:
        raise refused(exc) from None
    return {"status": "success"}


@route(f"{P}/user_chat_ab/remove_users", params=USER_IDS, summary="Remove from the address book")
def remove_users(call: Call) -> dict[str, str]:
    """Take users out of the caller's address book (idempotent)."""
    try:
        chat_book.remove_from_book(call.db, user_id=call.uid, user_ids=_user_ids(call))
    except chat.ChatError as exc:
        raise refused(exc) from None
    return {"status": "success"}


@route(
    f"{P}/user_chat_ab/add_partner",
    params={"parent_partner_id": INT, "child_partner_id": INT},
    summary="Add a partner's user to the caller's book",
)
def add_partner(call: Call) -> dict[str, str]:
    """The child partner's user into the parent's (the caller's own) address book."""
    assert call.user is not None
    try:
        chat_book.add_partner(
            call.db,
            user=call.user,
            parent=as_int(call.params.get("parent_partner_id")),
            child=as_int(call.params.get("child_partner_id")),
        )
    except chat.ChatError as exc:
        raise refused(exc) from None
    return {"status": "success"}


@route(
    "/im_chat/post",
    params={"uuid": STR, "message_type": STR, "message_content": STR},
    summary="Post a message",
)
def post(call: Call) -> dict[str, Any]:
    """Store and broadcast a message (`typing` is only broadcast) → `{"message_id"}`."""
    try:
        message_id, notes = chat.post(
            call.db,
            user_id=call.uid,
            uuid=call.params.get("uuid"),
            message_type=call.params.get("message_type"),
            content=call.params.get("message_content"),
            now=call.now,
        )
    except chat.ChatError as exc:
        raise refused(exc) from None
    send(call, notes)
    return {"message_id": message_id if message_id is not None else False}


@route(f"{P}/init", params={"name": STR, "limit": INT}, summary="Contacts by name")
def init(call: Call) -> list[dict[str, Any]]:
    """Other users whose name contains `name`, online first, with the last 1:1 message."""
    name = call.params.get("name")
    if blank(name):
        name = ""
    if isinstance(name, (dict, list, bool)):
        raise field_error("name", "Name is not valid")
    limit = optional_int(call.params, "limit", default=DEFAULT_LIMIT, minimum=1)
    assert limit is not None
    return chat_book.search(
        call.db, user_id=call.uid, name=str(name).strip(), limit=limit, now=call.now
    )


@route(
    f"{P}/history",
    params={"uuid": STR, "last_ID": INT, "last_id": INT, "limit": INT},
    summary="Messages, newest first",
)
def history(call: Call) -> list[dict[str, Any]]:
    """Messages older than `last_ID`, newest first; marks the session read."""
    key = "last_ID" if not blank(call.params.get("last_ID")) else "last_id"
    last_id = optional_int(call.params, key, default=None)
    limit = optional_int(call.params, "limit", default=DEFAULT_LIMIT, minimum=1)
    assert limit is not None
    try:
        return chat.history(
            call.db, user_id=call.uid, uuid=call.params.get("uuid"), last_id=last_id, limit=limit
        )
    except chat.ChatError as exc:
        raise refused(exc) from None


@route(
    f"{P}/change_session_status",
    params={"uuid": STR, "new_status": STR},
    summary="Set the caller's status of a session",
)
def change_session_status(call: Call) -> dict[str, str]:
    """Set the caller's status of a session: active, favorite or archive."""
    try:
        session = chat.set_status(
            call.db,
            user_id=call.uid,
            uuid=call.params.get("uuid"),
            status=call.params.get("new_status"),
        )
    except chat.ChatError as exc:
        raise refused(exc) from None
    send(call, [chat.info_note(call.db, session=session, user_id=call.uid, now=call.now)])
    return {"status": "success"}


@route(
    f"{P}/change_session_state",
    params={"uuid": STR, "state": STR},
    summary="Set or toggle the caller's window state",
)
def change_session_state(call: Call) -> dict[str, str]:
    """Set the window state (open, folded, closed), or toggle open ↔ folded without one."""
    try:
        session, state = chat.set_state(
            call.db, user_id=call.uid, uuid=call.params.get("uuid"), state=call.params.get("state")
        )
    except chat.ChatError as exc:
        raise refused(exc) from None
    send(call, [chat.info_note(call.db, session=session, user_id=call.uid, now=call.now)])
    return {"status": "success", "state": state}
