"""The real `fivesim` PyPI client (1.2.0) against a live server on a loopback port (§11)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
from fivesim.errors import ErrorType
from fivesim.response import Order

from fivesim import (
    ActivationProduct,
    Category,
    Country,
    FiveSim,
    FiveSimError,
    HostingProduct,
    Language,
    Operator,
    OrderAction,
    Status,
)
from tests.conftest import ADMIN
from tests.fivesim.helpers import CONTROL, assert_invariants
from understudy.context import AppContext
from understudy.fivesim.settings import get_settings


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


@pytest.fixture
def knobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set fivesim settings (UNDERSTUDY_FIVESIM_<NAME>) for the live server in this process."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"UNDERSTUDY_FIVESIM_{name.upper()}", value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


def _error_of(call: Callable[[], object]) -> ErrorType:
    with pytest.raises(FiveSimError) as error:
        call()
    return error.value.get_error()


def test_real_client_hosting_and_inbox(base_url: str, ctx: AppContext) -> None:
    _control(
        base_url,
        "stock",
        {"country": "england", "operator": "vodafone", "product": "1day", "count": 1, "price": 80},
    )
    user = _control(base_url, "users", {"email": "host.user@example.com", "balance": 100})
    client = _client(base_url, str(user["token"]))
    order = client.user.buy_number(Country.ENGLAND, Operator.VODAFONE, HostingProduct.ONE_DAY)
    assert (order.status, order.product, order.operator) == (
        Status.PENDING,
        HostingProduct.ONE_DAY,
        "vodafone",
    )
    assert client.user.get_sms_inbox_list(order) == []
    for text in ("Your code is 1111", "Код 2222"):
        _control(base_url, "sms", {"order_id": order.id, "sender": "Bank", "text": text})
    inbox = client.user.get_sms_inbox_list(order)
    assert [(s.activation_code, s.sender, s.is_wave) for s in inbox] == [
        ("1111", "Bank", False),
        ("2222", "Bank", False),
    ]
    assert client.user.order(OrderAction.CHECK, order).status == Status.RECEIVED
    assert (
        _error_of(lambda: client.user.order(OrderAction.FINISH, order)) == ErrorType.HOSTING_ORDER
    )
    assert (
        _error_of(lambda: client.user.order(OrderAction.CANCEL, order)) == ErrorType.HOSTING_ORDER
    )
    httpx.post(f"{base_url}/_understudy/clock", json={"advance": 24 * 3600}, headers=ADMIN)
    ended = client.user.order(OrderAction.CHECK, order)
    assert (ended.status, len(ended.sms)) == (Status.FINISHED, 2)
    history = client.user.get_orders_history(Category.HOSTING)
    assert [(o.id, o.status) for o in history.data] == [(order.id, Status.FINISHED)]
    assert client.user.get_profile_data().balance == 20
    assert_invariants(ctx)


def test_real_client_history_paging_reuse_and_vendor(base_url: str, ctx: AppContext) -> None:
    vendor = _control(base_url, "users", {"email": "shop@example.com", "vendor": "shop"})
    seller = _client(base_url, str(vendor["token"]))
    phones = [
        {"phone": f"+7900000000{i}", "country": "russia", "operator": "mts"} for i in range(4)
    ]
    added = httpx.post(
        f"{base_url}/v1/vendor/numbers",
        json=phones,
        headers={"Authorization": f"Bearer {vendor['token']}"},
    )
    assert added.json() == {"added": 4, "skipped": 0}
    _control(
        base_url,
        "stock",
        {"country": "russia", "operator": "mts", "product": "telegram", "count": 0, "price": 10},
    )
    user = _control(base_url, "users", {"email": "pager@example.com", "balance": 100})
    client = _client(base_url, str(user["token"]))
    orders = [
        client.user.buy_number(
            Country.RUSSIA, Operator.MTS, ActivationProduct.TELEGRAM, "79001112233", reuse=True
        )
        for _ in range(3)
    ]
    assert {(o.forwarding, o.forwarding_number) for o in orders} == {(True, "79001112233")}
    _control(base_url, "sms", {"order_id": orders[0].id, "sender": "Telegram", "text": "12345"})
    assert client.user.order(OrderAction.FINISH, orders[0]).status == Status.FINISHED
    client.user.order(OrderAction.CANCEL, orders[1])
    client.user.order(OrderAction.BAN, orders[2])
    client.user.reuse_number(ActivationProduct.TELEGRAM, orders[0].phone.lstrip("+"))

    page = client.user.get_orders_history(Category.ACTIVATION, 2, 0, "id", True)
    assert page.total == 4 and len(page.data) == 2
    assert [o.status for o in page.data] == [Status.PENDING, Status.BANNED]
    assert page.data[0].phone == orders[0].phone  # the reused number
    rest = client.user.get_orders_history(Category.ACTIVATION, 2, 2, "id", True)
    assert [o.id for o in rest.data] == [orders[1].id, orders[0].id]
    assert client.user.get_orders_history(Category.HOSTING).total == 0
    payments = client.user.get_payments_history(10, 0, "id", True)
    assert [(p.type, p.amount, p.balance) for p in payments.data] == [
        ("buy", -10, 70),  # the balance after it: two orders still held 20 then
        ("charge", 100, 100),
    ]
    assert payments.payment_types_names == ["buy", "charge"]

    me = seller.user.get_profile_data(vendor=True)
    assert (me.email, me.vendor_name) == ("shop@example.com", "shop")
    sold = seller.vendor.get_orders_history(Category.ACTIVATION, reverse_order=False)
    assert [o.status for o in sold.data] == [
        Status.FINISHED,
        Status.CANCELED,
        Status.BANNED,
        Status.PENDING,
    ]
    earned = seller.vendor.get_payments_history()
    assert [(p.type, p.amount) for p in earned.data] == [("sell", 8)]
    assert_invariants(ctx)


def test_real_client_reads_the_catalogue(base_url: str, knobs: Callable[..., None]) -> None:
    for country, operator, product, price in (
        ("russia", "beeline", "vkontakte", 21),
        ("russia", "tele2", "vkontakte", 18),
        ("england", "vodafone", "telegram", 15),
    ):
        body = {"country": country, "operator": operator, "product": product, "price": price}
        _control(base_url, "stock", {**body, "count": 2})
    knobs(flash_en="maintenance tonight", flash_ru="работы ночью")
    guest = _client(base_url, "")
    products = guest.guest.get_products(Country.ANY_COUNTRY, Operator.ANY_OPERATOR)
    assert products[ActivationProduct.VKONTAKTE] == (Category.ACTIVATION, 4, 18)
    everything = guest.guest.get_prices()
    assert everything[Country.RUSSIA][ActivationProduct.VKONTAKTE][Operator.TELE2].price == 18
    by_country = guest.guest.get_prices(country=Country.ENGLAND)
    assert by_country[Country.ENGLAND][ActivationProduct.TELEGRAM][Operator.VODAFONE].quantity == 2
    by_product = guest.guest.get_prices(product=ActivationProduct.VKONTAKTE)
    # the client turns the {product: {country: ...}} answer into {country: {product: ...}}
    assert by_product[Country.RUSSIA][ActivationProduct.VKONTAKTE][Operator.BEELINE].price == 21
    both = guest.guest.get_prices(Country.RUSSIA, ActivationProduct.VKONTAKTE)
    assert set(both[Country.RUSSIA][ActivationProduct.VKONTAKTE]) == {
        Operator.BEELINE,
        Operator.TELE2,
    }
    assert (
        _error_of(lambda: guest.guest.get_prices(product=ActivationProduct.WHATSAPP))
        == ErrorType.INCORRECT_PRODUCT
    )
    countries = guest.guest.get_countries()
    assert countries[Country.RUSSIA].iso == "ru" and countries[Country.RUSSIA].prefix == "+7"
    assert len(countries) == 174
    assert guest.guest.get_notification(Language.ENGLISH) == "maintenance tonight"
    assert guest.guest.get_notification(Language.RUSSIAN) == "работы ночью"


def test_real_client_order_errors(base_url: str, knobs: Callable[..., None]) -> None:
    offer = {"country": "russia", "operator": "beeline", "product": "vkontakte", "count": 5}
    _control(base_url, "stock", {**offer, "price": 21})
    user = _control(base_url, "users", {"email": "errors@example.com", "balance": 100})
    client = _client(base_url, str(user["token"]))
    user_api = client.user
    buy = lambda: user_api.buy_number(  # noqa: E731
        Country.RUSSIA, Operator.BEELINE, ActivationProduct.VKONTAKTE
    )
    assert (
        _error_of(
            lambda: user_api.buy_number(Country.ENGLAND, Operator.MTS, ActivationProduct.VKONTAKTE)
        )
        == ErrorType.BAD_OPERATOR
    )
    missing = Order.from_order_id(987654)
    assert _error_of(lambda: user_api.order(OrderAction.CHECK, missing)) == (
        ErrorType.ORDER_NOT_FOUND
    )
    assert _error_of(lambda: user_api.get_sms_inbox_list(missing)) == ErrorType.ORDER_NOT_FOUND
    order = buy()
    assert _error_of(lambda: user_api.order(OrderAction.FINISH, order)) == ErrorType.ORDER_NO_SMS
    _control(base_url, "sms", {"order_id": order.id, "sender": "VK", "text": "code 4321"})
    assert _error_of(lambda: user_api.order(OrderAction.CANCEL, order)) == ErrorType.ORDER_HAS_SMS
    assert _error_of(lambda: user_api.order(OrderAction.BAN, order)) == ErrorType.ORDER_HAS_SMS
    user_api.order(OrderAction.FINISH, order)
    with pytest.raises(FiveSimError) as error:  # `order expired` is not a typed error (§11)
        user_api.order(OrderAction.FINISH, order)
    assert error.value.get_error() == ErrorType.OTHER
    assert str(error.value) == "400Bad Requestorder expired"

    knobs(cancel_min_seconds="60")
    fresh = buy()
    assert _error_of(lambda: user_api.order(OrderAction.CANCEL, fresh)) == (
        ErrorType.CANCEL_NEEDS_TIME
    )
    knobs(maintenance="true")
    assert _error_of(buy) == ErrorType.SERVER_OFFLINE
    knobs(maintenance="false", no_free_phones_status="200")
    _control(base_url, "stock", {**offer, "operator": "mts", "count": 0, "price": 5})
    assert (
        _error_of(
            lambda: user_api.buy_number(Country.RUSSIA, Operator.MTS, ActivationProduct.VKONTAKTE)
        )
        == ErrorType.NO_FREE_PHONES
    )  # a 200 with that body is an error too

    blocked = _control(base_url, "users", {"email": "blocked@example.com", "rating": 0})
    assert (
        _error_of(
            lambda: _client(base_url, str(blocked["token"])).user.buy_number(
                Country.RUSSIA, Operator.BEELINE, ActivationProduct.VKONTAKTE
            )
        )
        == ErrorType.RATING_TOO_LOW
    )
    closed = _client(f"http://127.0.0.1:{_closed_port()}", str(user["token"]))
    assert _error_of(closed.user.get_profile_data) == ErrorType.REQUEST_ERROR


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_real_client_sees_both_request_limits(base_url: str, knobs: Callable[..., None]) -> None:
    knobs(rate_limit="3", rate_limit_period="hour")
    user = _control(base_url, "users", {"email": "busy@example.com"})
    client = _client(base_url, str(user["token"]))
    # The key's budget is spent from another loopback address, so this IP is still under its own.
    other_ip = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=other_ip) as elsewhere:
        for _ in range(3):
            answer = elsewhere.get(
                f"{base_url}/v1/user/profile",
                headers={"Authorization": f"Bearer {user['token']}"},
            )
            assert answer.status_code == 200
    assert _error_of(client.user.get_profile_data) == ErrorType.API_KEY_LIMIT
    for _ in range(2):
        assert httpx.get(f"{base_url}/v1/guest/countries").status_code == 200
    assert _error_of(client.guest.get_countries) == ErrorType.LIMIT_ERROR
