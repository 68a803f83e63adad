"""Property test of the order state machine (§5): any sequence of events against one order
follows the contract's table, and money is conserved."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import hypothesis
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import ADMIN
from tests.fivesim.helpers import CONTROL, assert_invariants, bearer
from understudy.context import AppContext
from understudy.fivesim.models import Payment
from understudy.fivesim.settings import get_settings

EVENTS = st.lists(st.sampled_from(["sms", "finish", "cancel", "ban", "wait", "check"]), max_size=10)
ACTIVE = ("PENDING", "RECEIVED")
_emails = itertools.count()


@pytest.fixture
def unlimited(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("UNDERSTUDY_FIVESIM_RATE_LIMIT", "0")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _expected(status: str, event: str, waited: int) -> tuple[str, int, str | None]:
    """(status after, HTTP status, error text) for an event, per the contract's table."""
    if event == "sms":
        return (
            ("RECEIVED" if status in ACTIVE else status),
            (200 if status in ACTIVE else 400),
            None,
        )
    if event == "check":
        return status, 200, None
    if event == "finish":
        if status == "RECEIVED":
            return "FINISHED", 200, None
        return status, 400, "order no sms" if status == "PENDING" else "order expired"
    if event in ("cancel", "ban"):
        if status == "PENDING":
            return ("CANCELED" if event == "cancel" else "BANNED"), 200, None
        return status, 400, "order has sms" if status == "RECEIVED" else "order expired"
    # wait: five minutes; the third one crosses the 15-minute expiry
    if waited >= 15 and status == "PENDING":
        return "TIMEOUT", 200, None
    if waited >= 15 and status == "RECEIVED":
        return "FINISHED", 200, None
    return status, 200, None


@hypothesis.settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@hypothesis.given(events=EVENTS)
def test_any_event_sequence_follows_the_table(
    base_url: str, ctx: AppContext, unlimited: None, events: list[str]
) -> None:
    with httpx.Client(base_url=base_url) as client:
        _run_events(client, ctx, events)


def _run_events(client: httpx.Client, ctx: AppContext, events: list[str]) -> None:
    stock = {"country": "russia", "operator": "beeline", "product": "vkontakte", "count": 1}
    assert client.post(f"{CONTROL}/stock", json={**stock, "price": 21}, headers=ADMIN).is_success
    created = client.post(
        f"{CONTROL}/users",
        json={"email": f"prop{next(_emails)}@example.com", "balance": 100},
        headers=ADMIN,
    ).json()
    auth = bearer(created["token"])
    order = client.get("/v1/user/buy/activation/russia/beeline/vkontakte", headers=auth).json()
    status, waited = "PENDING", 0
    for event in events:
        if event == "wait":
            waited += 5
        status, code, error = _expected(status, event, waited)
        if event == "sms":
            body = {"order_id": order["id"], "sender": "VK", "text": "code 1234"}
            answer = client.post(f"{CONTROL}/sms", json=body, headers=ADMIN)
        elif event == "wait":
            answer = client.post("/_understudy/clock", json={"advance": 300}, headers=ADMIN)
        else:
            answer = client.get(f"/v1/user/{event}/{order['id']}", headers=auth)
        assert answer.status_code == code, (event, answer.text)
        if error is not None:
            assert answer.text == error
        checked = client.get(f"/v1/user/check/{order['id']}", headers=auth).json()
        assert checked["status"] == status, (events, event)
    profile = client.get("/v1/user/profile", headers=auth).json()
    with ctx.db.read() as s:
        charged = -(
            s.scalar(
                select(func.coalesce(func.sum(Payment.amount), 0)).where(
                    Payment.user_id == created["id"], Payment.type_name == "buy"
                )
            )
            or 0
        )
    assert (
        round(profile["balance"] * 100) + round(profile["frozen_balance"] * 100) + charged == 10000
    )
    assert charged == (2100 if status == "FINISHED" else 0)
    assert profile["frozen_balance"] == (21 if status in ACTIVE else 0)
    assert_invariants(ctx)
