"""The real `fivesim` PyPI client (1.2.0) against a live server on a loopback port (§11)."""

from __future__ import annotations

import httpx
import pytest
from fivesim.errors import ErrorType

from fivesim import (
    ActivationProduct,
    Category,
    Country,
    FiveSim,
    FiveSimError,
    HostingProduct,
    Operator,
    OrderAction,
    Status,
)
from tests.conftest import ADMIN
from tests.fivesim.helpers import CONTROL, assert_invariants
from understudy.context import AppContext


def _client(base: str, token: str) -> FiveSim:
    client = FiveSim(token)
    for part in ("user", "guest", "vendor"):
        getattr(client, part)._APIRequest__endpoint = f"{base}/v1/{part}/"
    return client


def _control(base: str, what: str, body: dict[str, object]) -> dict[str, object]:
    answer = httpx.post(f"{base}{CONTROL}/{what}", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_real_client_buys_receives_and_finishes(base_url: str, ctx: AppContext) -> None:
    stock = {"country": "russia", "operator": "beeline", "count": 2, "price": 21}
    _control(base_url, "stock", {**stock, "product": "vkontakte"})
    _control(base_url, "stock", {**stock, "product": "1day", "price": 80})
    user = _control(base_url, "users", {"email": "client.user@example.com", "balance": 150})
    client = _client(base_url, str(user["token"]))

    me = client.user.get_profile_data()
    assert (me.email, me.balance, me.rating) == ("client.user@example.com", 150, 96)
    products = client.guest.get_products(Country.RUSSIA, Operator.ANY_OPERATOR)
    assert products[ActivationProduct.VKONTAKTE].price == 21
    assert products[HostingProduct.ONE_DAY].category == Category.HOSTING
    assert Country.RUSSIA in client.guest.get_countries()
    assert client.guest.get_prices(country=Country.RUSSIA)

    order = client.user.buy_number(Country.RUSSIA, Operator.BEELINE, ActivationProduct.VKONTAKTE)
    assert (order.status, order.price, order.country) == (Status.PENDING, 21, Country.RUSSIA)
    _control(base_url, "sms", {"order_id": order.id, "sender": "VKcom", "text": "Code: 5821"})
    checked = client.user.order(OrderAction.CHECK, order)
    assert checked.status == Status.RECEIVED
    assert [s.activation_code for s in checked.sms] == ["5821"]
    assert [s.activation_code for s in client.user.get_sms_inbox_list(order)] == ["5821"]
    assert client.user.order(OrderAction.FINISH, order).status == Status.FINISHED

    hosting = client.user.buy_number(Country.RUSSIA, Operator.ANY_OPERATOR, HostingProduct.ONE_DAY)
    assert hosting.status == Status.PENDING
    history = client.user.get_orders_history(Category.ACTIVATION)
    assert [o.id for o in history.data] == [order.id]
    payments = client.user.get_payments_history()
    assert len(payments.data) == 2
    assert client.user.get_profile_data().balance == 150 - 21 - 80
    assert_invariants(ctx)


def test_real_client_sees_typed_errors(base_url: str) -> None:
    offer = {"country": "russia", "operator": "beeline", "product": "vkontakte", "count": 1}
    _control(base_url, "stock", {**offer, "price": 21})
    user = _control(base_url, "users", {"email": "poor.user@example.com"})
    client = _client(base_url, str(user["token"]))
    with pytest.raises(FiveSimError) as error:
        client.user.buy_number(Country.RUSSIA, Operator.BEELINE, ActivationProduct.VKONTAKTE)
    assert error.value.get_error() == ErrorType.BALANCE_TOO_LOW
    with pytest.raises(FiveSimError) as error:
        client.user.buy_number(Country.RUSSIA, Operator.BEELINE, ActivationProduct.TELEGRAM)
    assert error.value.get_error() == ErrorType.MISSING_PRODUCT
    _control(
        base_url,
        "stock",
        {**offer, "operator": "mts", "product": "telegram", "count": 0, "price": 8},
    )
    with pytest.raises(FiveSimError) as error:
        client.user.buy_number(Country.RUSSIA, Operator.MTS, ActivationProduct.TELEGRAM)
    assert error.value.get_error() == ErrorType.NO_FREE_PHONES
    with pytest.raises(FiveSimError) as error:
        _client(base_url, "wrong-token").user.get_profile_data()
    assert error.value.get_error() == ErrorType.INVALID_API_KEY
