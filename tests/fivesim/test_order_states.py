"""Property test of the order state machine (§5): any sequence of events against one order
follows the contract's table, and money is conserved."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import httpx
import hypothesis
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import func, select

from tests.conftest import ADMIN
from tests.fivesim.helpers import (
    CONTROL,
    assert_invariants,
    assert_stock_counted,
    bearer,
    run_machine,
)
from understudy.context import AppContext
from understudy.fivesim.models import Payment

EVENTS = st.lists(st.sampled_from(["sms", "finish", "cancel", "ban", "wait", "check"]), max_size=10)
ACTIVE = ("PENDING", "RECEIVED")
_emails = itertools.count()


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


# --- the lifecycle with the clock: several orders, expiry, rating, the 24-hour block ----------

PRICE = 10
START = 1000
MINUTE = 60
SEEN: Counter[str] = Counter()  # what the examples went through: the run must reach each


class Lifecycle(RuleBasedStateMachine):
    """One buyer with a low rating: buys, SMS, actions and waits, checked against a model."""

    def __init__(self, client: httpx.Client, ctx: AppContext) -> None:
        super().__init__()
        self.client, self.ctx = client, ctx
        self.auth: dict[str, str] = {}
        self.minutes = 0  # model time since the start
        self.orders: dict[int, dict[str, Any]] = {}  # id -> status, created, sms
        self.rating = 0  # hundredths
        self.blocked_until: int | None = None
        self.charged = 0

    @initialize(start=st.sampled_from([0.1, 0.25, 96]))
    def create_buyer(self, start: float) -> None:
        offer = {"country": "russia", "operator": "beeline", "product": "vkontakte"}
        answer = self.client.post(
            f"{CONTROL}/stock", json={**offer, "count": 30, "price": PRICE}, headers=ADMIN
        )
        assert answer.is_success
        created = self.client.post(
            f"{CONTROL}/users",
            json={"email": f"life{next(_emails)}@example.com", "balance": START, "rating": start},
            headers=ADMIN,
        ).json()
        self.auth = bearer(created["token"])
        self.rating = round(start * 100)

    def _rate(self, delta: int) -> None:
        self.rating = max(0, min(9600, self.rating + delta))
        if self.rating == 0 and self.blocked_until is None:
            self.blocked_until = self.minutes + 24 * 60
            SEEN["blocked"] += 1

    def _lift(self) -> None:
        if self.blocked_until is not None and self.minutes >= self.blocked_until:
            self.rating, self.blocked_until = 9600, None
            SEEN["block lifted"] += 1

    def _active(self) -> list[int]:
        return [i for i, o in self.orders.items() if o["status"] in ACTIVE]

    @rule()
    def buy(self) -> None:
        self._lift()
        answer = self.client.get(
            "/v1/user/buy/activation/russia/beeline/vkontakte", headers=self.auth
        )
        if self.rating <= 0 or self.blocked_until is not None:
            assert (answer.status_code, answer.text) == (400, "not enough rating")
            SEEN["refused"] += 1
            return
        assert answer.status_code == 200, answer.text
        order = answer.json()
        assert (order["status"], order["sms"]) == ("PENDING", None)
        self.orders[order["id"]] = {"status": "PENDING", "created": self.minutes}

    @precondition(lambda self: bool(self._active()))
    @rule(data=st.data())
    def sms(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self._active()))
        body = {"order_id": order_id, "sender": "VK", "text": "VK: 09363 - use this code"}
        assert self.client.post(f"{CONTROL}/sms", json=body, headers=ADMIN).is_success
        self.orders[order_id]["status"] = "RECEIVED"

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), action=st.sampled_from(["finish", "cancel", "ban"]))
    def act(self, data: st.DataObject, action: str) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        order = self.orders[order_id]
        answer = self.client.get(f"/v1/user/{action}/{order_id}", headers=self.auth)
        status, code, error = _expected(order["status"], action, 0)
        assert (answer.status_code, answer.text if error else None) == (code, error)
        if status != order["status"]:
            order["status"] = status
            if action == "finish":
                self.charged += PRICE
                self._rate(50)
            else:
                self._rate(-10)

    @rule(minutes=st.sampled_from([5, 15, 24 * 60]))
    def wait(self, minutes: int) -> None:
        answer = self.client.post(
            "/_understudy/clock", json={"advance": minutes * MINUTE}, headers=ADMIN
        )
        assert answer.is_success
        self.minutes += minutes
        due = [i for i in self._active() if self.orders[i]["created"] + 15 <= self.minutes]
        for order_id in sorted(due, key=lambda i: (self.orders[i]["created"], i)):
            order = self.orders[order_id]
            if order["status"] == "PENDING":
                order["status"] = "TIMEOUT"
                self._rate(-15)
            else:
                order["status"] = "FINISHED"
                self.charged += PRICE
                self._rate(40)
            SEEN[f"expired {order['status']}"] += 1

    @invariant()
    def matches_the_model(self) -> None:
        if not self.auth:
            return
        self._lift()
        me = self.client.get("/v1/user/profile", headers=self.auth).json()
        assert round(me["rating"] * 100) == self.rating
        active = self._active()
        assert me["total_active_orders"] == len(active)
        assert me["frozen_balance"] == PRICE * len(active)
        assert me["balance"] + me["frozen_balance"] + self.charged == START
        for order_id, order in self.orders.items():
            checked = self.client.get(f"/v1/user/check/{order_id}", headers=self.auth)
            assert checked.json()["status"] == order["status"], order_id
        assert_stock_counted(self.ctx)


@pytest.mark.slow
def test_order_lifecycle_with_the_clock(base_url: str, ctx: AppContext, unlimited: None) -> None:
    SEEN.clear()
    run_machine(lambda client: Lifecycle(client, ctx), base_url, examples=10, steps=20)
    assert_invariants(ctx)
    expected = {"blocked", "block lifted", "refused", "expired TIMEOUT", "expired FINISHED"}
    assert expected <= set(SEEN), SEEN
