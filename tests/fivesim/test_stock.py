"""The stock counters (fivesim.stock) equal a recount from numbers and orders after any event."""

from __future__ import annotations

import itertools

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.conftest import ADMIN
from tests.fivesim.helpers import (
    CONTROL,
    assert_invariants,
    assert_stock_counted,
    bearer,
    run_machine,
)
from understudy.context import AppContext

OPERATORS = ("beeline", "mts")
PRODUCTS = ("vkontakte", "telegram", "whatsapp")
_serial = itertools.count()


class Stock(RuleBasedStateMachine):
    """Buys of several products on shared numbers, SMS, actions, expiries, new numbers."""

    def __init__(self, client: httpx.Client, ctx: AppContext) -> None:
        super().__init__()
        self.client, self.ctx = client, ctx
        self.buyer: dict[str, str] = {}
        self.vendor: dict[str, str] = {}
        self.orders: list[int] = []
        self.finished: list[tuple[str, str]] = []  # (product, number) bought with reuse=1

    def _post(self, path: str, body: object) -> httpx.Response:
        answer = self.client.post(path, json=body, headers=ADMIN)
        assert answer.is_success, answer.text
        return answer

    @initialize()
    def setup(self) -> None:
        for operator, product in itertools.product(OPERATORS, PRODUCTS):
            offer = {"country": "russia", "operator": operator, "product": product}
            self._post(f"{CONTROL}/stock", {**offer, "count": 2, "price": 10})
        n = next(_serial)
        buyer = self._post(
            f"{CONTROL}/users", {"email": f"stock{n}@example.com", "balance": 100_000}
        )
        vendor = self._post(f"{CONTROL}/users", {"email": f"seller{n}@example.com", "vendor": True})
        self.buyer = bearer(buyer.json()["token"])
        self.vendor = bearer(vendor.json()["token"])

    @rule(
        product=st.sampled_from(PRODUCTS),
        operator=st.sampled_from(("any", *OPERATORS)),
        keep=st.booleans(),
    )
    def buy(self, product: str, operator: str, keep: bool) -> None:
        answer = self.client.get(
            f"/v1/user/buy/activation/russia/{operator}/{product}",
            params={"reuse": "1"} if keep else None,
            headers=self.buyer,
        )
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 200:
            self.orders.append(answer.json()["id"])

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def sms(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self.orders))
        body = {"order_id": order_id, "sender": "VK", "text": "code 12345"}
        self.client.post(f"{CONTROL}/sms", json=body, headers=ADMIN)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), action=st.sampled_from(["finish", "cancel", "ban"]))
    def act(self, data: st.DataObject, action: str) -> None:
        order_id = data.draw(st.sampled_from(self.orders))
        answer = self.client.get(f"/v1/user/{action}/{order_id}", headers=self.buyer)
        assert answer.status_code in (200, 400), answer.text
        body = answer.json() if answer.status_code == 200 else {}
        if body.get("status") == "FINISHED":
            self.finished.append((body["product"], body["phone"].removeprefix("+")))

    @precondition(lambda self: bool(self.finished))
    @rule(data=st.data())
    def reuse(self, data: st.DataObject) -> None:
        product, number = data.draw(st.sampled_from(self.finished))
        answer = self.client.get(f"/v1/user/reuse/{product}/{number}", headers=self.buyer)
        assert answer.status_code in (200, 400, 503), answer.text
        if answer.status_code == 200:
            self.orders.append(answer.json()["id"])

    @rule(minutes=st.sampled_from([5, 16]))
    def wait(self, minutes: int) -> None:
        self._post("/_understudy/clock", {"advance": minutes * 60})

    @rule(operator=st.sampled_from(OPERATORS))
    def vendor_number(self, operator: str) -> None:
        phone = f"+7900{next(_serial):07d}"
        item = {"phone": phone, "country": "russia", "operator": operator}
        answer = self.client.post("/v1/vendor/numbers", json=[item], headers=self.vendor)
        assert answer.status_code == 200, answer.text

    @rule(operator=st.sampled_from(OPERATORS), product=st.sampled_from(PRODUCTS))
    def restock(self, operator: str, product: str) -> None:
        offer = {"country": "russia", "operator": operator, "product": product}
        self._post(f"{CONTROL}/stock", {**offer, "count": 3, "price": 10})

    @invariant()
    def counted(self) -> None:
        assert_stock_counted(self.ctx)


def test_stock_counters_match_a_recount(base_url: str, ctx: AppContext, unlimited: None) -> None:
    run_machine(lambda client: Stock(client, ctx), base_url, examples=5, steps=15)
    assert_invariants(ctx)
