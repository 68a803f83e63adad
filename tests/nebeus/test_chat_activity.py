"""Chat presence follows any signed-in call (contract §11), not only chat calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy.orm import Session

from tests.conftest import ADMIN
from tests.nebeus.test_chat import API, Person, call
from understudy.context import AppContext

pytestmark = pytest.mark.usefixtures("stop_hub")

POLL = "/longpolling/poll"
ACCOUNTS = "/accounts/1.0/json"  # a read-only route outside the chat


class WriteCounter:
    """Counts the write transactions the app opens."""

    def __init__(self, ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = ctx.db.write

        @contextmanager
        def counting(**kwargs: bool) -> Iterator[Session]:
            self.count += 1
            with original(**kwargs) as session:
                yield session

        monkeypatch.setattr(ctx.db, "write", counting)


async def advance(client: httpx.AsyncClient, seconds: int) -> None:
    """Move the sandbox clock."""
    r = await client.post("/_understudy/clock", json={"advance": seconds}, headers=ADMIN)
    assert r.status_code == 200, r.text


async def test_a_non_chat_call_is_presence_and_read_only_calls_write_it_throttled(
    ctx: AppContext, client: httpx.AsyncClient, pair: list[Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    lucid, oneiric = pair
    assert await call(client, lucid, f"{API}/user_chat_ab/add_users", user_ids=[oneiric.uid]) == {
        "status": "success"
    }

    async def status_of_oneiric() -> str:
        users = await call(client, lucid, f"{API}/user_chat_ab/get_users_from_book")
        return str(next(u["im_status"] for u in users if u["id"] == oneiric.uid))

    seen = await call(client, lucid, POLL, channels=[], last=0)
    last = max((n["id"] for n in seen), default=0)
    assert await status_of_oneiric() == "offline"
    writes = WriteCounter(ctx, monkeypatch)
    assert isinstance(await call(client, oneiric, ACCOUNTS), list)
    assert writes.count == 1  # read-only route redone as a write: the presence was due
    assert await status_of_oneiric() == "online"
    told = await call(client, lucid, POLL, channels=[], last=last)
    assert [n["message"] for n in told] == [{"id": oneiric.uid, "im_status": "online"}]

    await advance(client, 20)
    writes.count = 0
    await call(client, oneiric, ACCOUNTS)
    assert writes.count == 0  # within the throttle window: stays a read

    await advance(client, 32)  # 52 s since the presence was stored: due again
    writes.count = 0
    await call(client, oneiric, ACCOUNTS)
    assert writes.count == 1
    await advance(client, 4)  # 56 s since the first call: offline, had it not been stored
    assert await status_of_oneiric() == "online"


async def test_activity_is_stored_while_a_connection_keeps_polls_fresh(
    client: httpx.AsyncClient, pair: list[Person]
) -> None:
    lucid, oneiric = pair

    async def status_of_oneiric() -> str:
        users = await call(client, lucid, f"{API}/user_chat_ab/get_all_users")
        return str(next(u["im_status"] for u in users if u["id"] == oneiric.uid))

    await call(client, oneiric, ACCOUNTS)
    for _ in range(16):  # 640 s of activity, each call just after a presence-less poll
        await advance(client, 40)
        await call(client, oneiric, POLL, channels=[], last=1 << 40)
        assert await status_of_oneiric() == "online"  # not "away": the activity was recorded
        await call(client, oneiric, ACCOUNTS)
