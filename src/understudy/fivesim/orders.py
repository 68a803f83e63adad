"""Buying and the order lifecycle (contract §4.1, §5, §6, §8): hold, SMS, finish, refund, expiry."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from understudy.core import ledger, timers
from understudy.core.text import is_ascii_digits
from understudy.fivesim import catalogue, stock, versions
from understudy.fivesim import errors as e
from understudy.fivesim.codes import extract_code
from understudy.fivesim.errors import FivesimError
from understudy.fivesim.models import (
    ACTIVE,
    Country,
    MaxPrice,
    Number,
    Operator,
    Order,
    Payment,
    Price,
    Product,
    Sms,
    User,
)
from understudy.fivesim.service import (
    CURRENCY,
    MAX_RATING,
    change_rating,
    money_of,
    revenue_account,
    user_account,
    vendor_account,
)
from understudy.fivesim.settings import get_settings

EXPIRY = "fivesim.order_expiry"
MODEM = "fivesim.modem"
CLAIM_ATTEMPTS = 5
ANY = "any"
# Rating moves in hundredths of a point (contract §8, seed table).
FINISH_BONUS = 50
AUTO_FINISH_BONUS = 40
TIMEOUT_PENALTY = -15
CANCEL_PENALTY = -10
BAN_PENALTY = -10
_orders = Order.__table__
_numbers = Number.__table__
_users = User.__table__
_sms = Sms.__table__
_payments = Payment.__table__
_accounts = ledger.Account.__table__
_active_order = _orders.alias("active_order")
_used_order = _orders.alias("used_order")
_INSERT_ORDER = insert(_orders).returning(_orders.c.id)


@dataclass(frozen=True)
class BuyRequest:
    """What a buy asks for, already parsed from the wire."""

    category: str
    country: str
    operator: str
    product: str
    forwarding: bool = False
    number: str | None = None
    reuse: bool = False
    voice: bool = False
    ref: str = ""
    max_price: int | None = None


def lift_block(user: User, now: datetime) -> None:
    """After the 24-hour block that a rating of zero brings, the rating starts over."""
    if user.blocked_until is not None and now >= user.blocked_until:
        user.rating = round(get_settings().start_rating * 100)
        user.blocked_until = None


def _check_rating(session: Session, user: User, now: datetime) -> None:
    lift_block(user, now)
    if user.rating <= 0 or user.blocked_until is not None:
        raise FivesimError(e.NOT_ENOUGH_RATING)
    if get_settings().cap_active_orders:
        active = session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.user_id == user.id, Order.status.in_(ACTIVE))
        )
        if (active or 0) + 1 > user.rating / 100:
            raise FivesimError(e.NOT_ENOUGH_RATING)


def _forwarding_number(number: str | None, user: User) -> str:
    if not number:
        return user.default_forwarding_number
    return number if len(number) == 11 and is_ascii_digits(number) and number[0] in "78" else ""


class _Facts(NamedTuple):
    """What a buy checks, read in one statement."""

    country_ok: bool
    operator_ok: bool
    category: str | None
    max_price: int | None
    account_id: int | None
    available: int | None


@functools.cache
def _facts_query(by_country: bool, by_operator: bool):  # type: ignore[no-untyped-def]
    """The statement of `_facts` (built once per shape: building costs more than running)."""
    countries, operators, products = Country.__table__, Operator.__table__, Product.__table__
    max_prices = MaxPrice.__table__
    country, operator, product = bindparam("country"), bindparam("operator"), bindparam("product")
    account = _accounts.c.key == bindparam("account")
    never = literal(False)
    operator_ok = never
    if by_operator:
        where = [operators.c.name == operator]
        if by_country:
            where.append(operators.c.country == country)
        operator_ok = exists().where(*where)
    return select(
        exists().where(countries.c.name == country) if by_country else never,
        operator_ok,
        select(products.c.category).where(products.c.name == product).scalar_subquery(),
        select(max_prices.c.price)
        .where(max_prices.c.user_id == bindparam("user_id"), max_prices.c.product == product)
        .scalar_subquery(),
        select(_accounts.c.id).where(account).scalar_subquery(),
        select(_accounts.c.balance - _accounts.c.held).where(account).scalar_subquery(),
    )


def _facts(
    session: Session, *, user_id: int, country: str | None, operator: str | None, product: str
) -> _Facts:
    """The country, operator and product checks, the user's ceiling and spendable balance."""
    storable = catalogue.storable
    names = {
        "country": country if storable(country) else "",
        "operator": operator if storable(operator) else "",
        "product": product if storable(product) else "",
    }
    row = (
        session.connection()
        .execute(
            _facts_query(country is not None, operator is not None),
            {**names, "user_id": user_id, "account": f"fivesim:user:{user_id}:{CURRENCY}"},
        )
        .one()
    )
    country_ok = bool(row[0]) and storable(country)
    operator_ok = bool(row[1]) and storable(country, operator)
    category, max_price = (row[2], row[3]) if storable(product) else (None, None)
    return _Facts(country_ok, operator_ok, category, max_price, row[4], row[5])


def buy(session: Session, *, user: User, request: BuyRequest, now: datetime) -> Order:
    """Buy a number for a product: checks in the documented order, then a hold on the price."""
    if not request.country:
        raise FivesimError(e.SELECT_COUNTRY)
    if not request.operator:
        raise FivesimError(e.SELECT_OPERATOR)
    country = None if request.country == ANY else request.country
    operator = None if request.operator == ANY else request.operator
    facts = _facts(
        session, user_id=user.id, country=country, operator=operator, product=request.product
    )
    if country is not None and not facts.country_ok:
        raise FivesimError(e.BAD_COUNTRY)
    if operator is not None and not facts.operator_ok:
        raise FivesimError(e.BAD_OPERATOR)
    if facts.category is None or facts.category != request.category:
        raise FivesimError(e.NO_PRODUCT)
    _check_rating(session, user, now)
    max_price = request.max_price if request.max_price is not None else facts.max_price
    candidates = [
        o
        for o in catalogue.offers(
            session, country=country, operator=operator, product=request.product
        )
        if o.count > 0 and (operator is not None or max_price is None or o.price <= max_price)
    ]
    if not candidates:
        raise FivesimError(e.NO_FREE_PHONES, get_settings().no_free_phones_status)
    candidates.sort(key=lambda o: (o.price, -o.count, o.country, o.operator))
    if (facts.available or 0) < candidates[0].price:
        raise FivesimError(e.NOT_ENOUGH_BALANCE)
    if get_settings().maintenance:
        raise FivesimError(e.SERVER_OFFLINE)
    for _ in range(CLAIM_ATTEMPTS):
        claimed = _claim(session, candidates)
        if claimed is None:
            break
        number, offer = claimed
        try:
            with _attempt(session):
                return _open_order(
                    session,
                    user=user,
                    number=number,
                    offer=offer,
                    request=request,
                    now=now,
                    account_id=facts.account_id,
                )
        except IntegrityError:  # a concurrent buyer committed this number first: next one
            if session.get_bind().dialect.name != "postgresql":
                raise
            continue
    raise FivesimError(e.NO_FREE_PHONES, get_settings().no_free_phones_status)


def _attempt(session: Session) -> AbstractContextManager[Any]:
    """A savepoint around one claim on PostgreSQL, where a concurrent buyer can win the number.

    SQLite has one writer: the claim's query sees every committed sale, so no savepoint.
    """
    if session.get_bind().dialect.name == "postgresql":
        return session.begin_nested()
    return nullcontext()


class Claimed(NamedTuple):
    """A number about to be sold, and whether its vendor's modem answers."""

    id: int
    vendor_id: int
    phone: str
    modem: bool


def _claim(
    session: Session, candidates: list[catalogue.Offer]
) -> tuple[Claimed, catalogue.Offer] | None:
    for offer in candidates:
        number = _claim_number(session, offer=offer)
        if number is not None:
            return number, offer
    return None


def reuse(session: Session, *, user: User, product_name: str, number: str, now: datetime) -> Order:
    """Buy again a number this user finished for the product with `reuse=1` (§4.2)."""
    product = catalogue.product(session, name=product_name)
    if product is None:
        raise FivesimError(e.NO_PRODUCT)
    if not (is_ascii_digits(number) and 4 <= len(number) <= 15):
        raise FivesimError(e.REUSE_NOT_POSSIBLE)
    earlier = session.scalar(
        select(Order)
        .where(
            Order.user_id == user.id,
            Order.phone == "+" + number,
            Order.product == product.name,
            Order.status == "FINISHED",
        )
        .order_by(Order.id.desc())
        .limit(1)
    )
    if earlier is None:
        raise FivesimError(e.REUSE_NOT_POSSIBLE)
    if not earlier.reuse:
        raise FivesimError(e.REUSE_FALSE)
    if now - earlier.created_at > timedelta(days=get_settings().reuse_days):
        raise FivesimError(e.REUSE_EXPIRED)
    _check_rating(session, user, now)
    price = session.scalar(
        select(Price.price).where(
            Price.country == earlier.country,
            Price.operator == earlier.operator,
            Price.product == product.name,
        )
    )
    found = session.execute(_claimable(earlier.number_id)).first()
    busy = session.scalar(select(Order.id).where(Order.active_number_id == earlier.number_id))
    if price is None or found is None or busy is not None:
        raise FivesimError(e.NO_FREE_PHONES, get_settings().no_free_phones_status)
    if money_of(session, user_id=user.id).balance < price:
        raise FivesimError(e.NOT_ENOUGH_BALANCE)
    if get_settings().maintenance:
        raise FivesimError(e.SERVER_OFFLINE)
    offer = catalogue.Offer(
        earlier.country, earlier.operator, product.name, product.category, price, 1
    )
    request = BuyRequest(
        category=product.category,
        country=earlier.country,
        operator=earlier.operator,
        product=product.name,
        reuse=True,
    )
    try:
        with session.begin_nested():
            return _open_order(
                session, user=user, number=Claimed(*found), offer=offer, request=request, now=now
            )
    except IntegrityError:
        raise FivesimError(e.NO_FREE_PHONES, get_settings().no_free_phones_status) from None


def _claimable(number_id: int | None = None):  # type: ignore[no-untyped-def]
    """(id, vendor_id, phone, modem) of numbers, with their vendor's modem flag."""
    stmt = select(_numbers.c.id, _numbers.c.vendor_id, _numbers.c.phone, _users.c.modem).join(
        _users, _users.c.id == _numbers.c.vendor_id
    )
    return stmt if number_id is None else stmt.where(_numbers.c.id == number_id)


@functools.cache
def _claim_query(postgresql: bool):  # type: ignore[no-untyped-def]
    active, used = _active_order, _used_order
    stmt = (
        _claimable()
        .where(
            _numbers.c.country == bindparam("country"),
            _numbers.c.operator == bindparam("operator"),
            ~exists().where(active.c.active_number_id == _numbers.c.id),
            ~exists().where(
                used.c.number_id == _numbers.c.id,
                used.c.product == bindparam("product"),
                used.c.status.in_(catalogue.USED_STATUSES),
            ),
        )
        .order_by(_numbers.c.id)
        .limit(1)
    )
    return stmt.with_for_update(skip_locked=True, of=_numbers) if postgresql else stmt


def _claim_number(session: Session, *, offer: catalogue.Offer) -> Claimed | None:
    """A free number of the offer, locked on PostgreSQL so concurrent buyers skip it."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    row = (
        session.connection()
        .execute(
            _claim_query(postgresql),
            {"country": offer.country, "operator": offer.operator, "product": offer.product},
        )
        .first()
    )
    return None if row is None else Claimed(*row)


def _expiry(product: str, category: str, now: datetime) -> datetime:
    if category == "hosting":
        return now + timedelta(hours=catalogue.HOSTING_HOURS.get(product, 24))
    return now + timedelta(minutes=get_settings().activation_minutes)


def _open_order(
    session: Session,
    *,
    user: User,
    number: Claimed,
    offer: catalogue.Offer,
    request: BuyRequest,
    now: datetime,
    account_id: int | None = None,
) -> Order:
    # Lock order (PostgreSQL): the version shard, the operator's stock, then the account.
    versions.touch(session)
    stock.take(session, number_id=number.id, country=offer.country, operator=offer.operator)
    if account_id is None:
        account_id = user_account(session, user_id=user.id, now=now).id
    try:
        hold = ledger.place_hold(
            session, account_id=account_id, amount=offer.price, label="fivesim order", now=now
        )
    except ledger.InsufficientFunds:
        raise FivesimError(e.NOT_ENOUGH_BALANCE) from None
    forwarding_number = _forwarding_number(request.number, user) if request.forwarding else ""
    values = {
        "user_id": user.id,
        "number_id": number.id,
        "active_number_id": number.id,
        "vendor_id": number.vendor_id,
        "phone": number.phone,
        "country": offer.country,
        "operator": offer.operator,
        "product": offer.product,
        "category": offer.category,
        "price": offer.price,
        "status": "PENDING",
        "hold_id": hold.id,
        "forwarding": request.forwarding,
        "forwarding_number": forwarding_number,
        "reuse": request.reuse,
        "voice": request.voice,
        "ref": request.ref,
        "created_at": now,
        "expires_at": _expiry(offer.product, offer.category, now),
    }
    # The unique active_number_id refuses a number sold concurrently.
    order_id = session.connection().execute(_INSERT_ORDER, values).scalar_one()
    key = str(order_id)
    due: list[tuple[str, str, datetime, dict[str, Any] | None]] = [
        (EXPIRY, key, values["expires_at"], None)
    ]
    if number.modem:
        due.append((MODEM, key, now + timedelta(seconds=get_settings().modem_seconds), None))
    timers.schedule_all(session, due)
    return Order(id=order_id, ended_at=None, **values)  # not in the session: a plain record


class Poll(NamedTuple):
    """An order as a poll sees it: whether a timer of it is due, and the next one's time."""

    order: Order
    due: bool
    next_due: datetime | None


def poll(session: Session, *, token_hash: str, order_id: int, now: datetime) -> Poll | None:
    """The order if it belongs to the token's user, with its timers' state (one query).

    None when there is no such order for that token (the caller takes the regular path, which
    tells an unknown token from an unknown order).
    """
    next_due = (
        select(func.min(timers.Timer.due_at))
        .where(timers.Timer.kind.in_((MODEM, EXPIRY)), timers.Timer.key == str(order_id))
        .scalar_subquery()
    )
    row = session.execute(
        select(Order, next_due)
        .join(User, User.id == Order.user_id)
        .where(Order.id == order_id, User.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    due_at: datetime | None = row[1]
    return Poll(row[0], due_at is not None and due_at <= now, due_at)


def get(session: Session, *, user_id: int, order_id: int, now: datetime) -> Order:
    """The user's order after applying its due timers; `order not found` otherwise."""
    timers.run_if_due(session, kind=MODEM, key=str(order_id), now=now)
    timers.run_if_due(session, kind=EXPIRY, key=str(order_id), now=now)
    order = session.get(Order, order_id, populate_existing=True)
    if order is None or order.user_id != user_id:
        raise FivesimError(e.ORDER_NOT_FOUND)
    return order


def _end(session: Session, order: Order, status: str, now: datetime) -> None:
    order.status = status
    order.active_number_id = None
    order.ended_at = now
    timers.cancel_all(session, kinds=(EXPIRY, MODEM), key=str(order.id))
    versions.touch(session)
    session.flush()
    stock.release(
        session, number_id=order.number_id, country=order.country, operator=order.operator
    )


class _Ended(NamedTuple):
    """What charging or refunding an ended order needs."""

    id: int
    user_id: int
    vendor_id: int
    product: str
    category: str
    price: int
    hold_id: int


_keys = bindparam("keys", expanding=True)
_ACCOUNT_IDS = select(_accounts.c.key, _accounts.c.id).where(_accounts.c.key.in_(_keys))


def _charge(session: Session, order: _Ended | Order, now: datetime) -> None:
    """Post the order's hold: the vendor's share and the marketplace's rest; `buy` rows."""
    vendor_cut = int(order.price * get_settings().vendor_share)
    buyer_key = f"fivesim:user:{order.user_id}:{CURRENCY}"
    vendor_key = f"fivesim:vendor:{order.vendor_id}:{CURRENCY}"
    revenue_key = f"fivesim:revenue:{CURRENCY}"
    conn = session.connection()
    ids = dict(conn.execute(_ACCOUNT_IDS, {"keys": [vendor_key, revenue_key]}).all())
    vendor_id = ids.get(vendor_key) or vendor_account(session, user_id=order.vendor_id, now=now).id
    revenue_id = ids.get(revenue_key) or revenue_account(session, now=now).id
    ledger.post_hold(
        session,
        hold_id=order.hold_id,
        to=[(vendor_id, vendor_cut), (revenue_id, order.price - vendor_cut)],
        label=f"fivesim order {order.id}",
        now=now,
    )
    # With the balances after the posting (its accounts are locked on PostgreSQL).
    params = {
        "product": order.product,
        "now": now,
        "buyer_user": order.user_id,
        "buyer_amount": -order.price,
        "buyer_key": buyer_key,
        "vendor_user": order.vendor_id,
        "vendor_amount": vendor_cut,
        "vendor_key": vendor_key,
    }
    conn.execute(_PAY_BOTH if vendor_cut else _PAY_BUYER, params)


def _payment_row(who: str, type_name: str):  # type: ignore[no-untyped-def]
    """A payment row of the buyer or the vendor, its balance read from the account."""
    account = _accounts.alias(f"{who}_account")
    return select(
        bindparam(f"{who}_user", type_=Integer()),
        literal(who == "vendor", Boolean()),
        literal(type_name, String()),
        bindparam("product", type_=String()),
        bindparam(f"{who}_amount", type_=BigInteger()),
        account.c.balance - account.c.held,
        bindparam("now", type_=_payments.c.created_at.type),
    ).where(account.c.key == bindparam(f"{who}_key"))


_PAYMENT_COLUMNS = [
    "user_id",
    "vendor",
    "type_name",
    "provider_name",
    "amount",
    "balance",
    "created_at",
]
_PAY_BUYER = insert(_payments).from_select(_PAYMENT_COLUMNS, _payment_row("buyer", "buy"))
_PAY_BOTH = insert(_payments).from_select(
    _PAYMENT_COLUMNS, union_all(_payment_row("buyer", "buy"), _payment_row("vendor", "sell"))
)


def _rate(session: Session, order: _Ended | Order, delta: int, now: datetime) -> None:
    if order.category != "activation":
        return
    user = session.identity_map.get(identity_key(User, order.user_id))
    if user is not None:  # loaded in this session: change it there, so it stays current
        change_rating(session, user=user, delta=delta, now=now)  # type: ignore[arg-type]
        return
    session.connection().execute(
        _RATE, {"b_id": order.user_id, "delta": delta, "block": now + timedelta(hours=24)}
    )


def _rate_statement():  # type: ignore[no-untyped-def]
    moved = _users.c.rating + bindparam("delta")
    rating = case((moved > MAX_RATING, MAX_RATING), (moved < 0, 0), else_=moved)
    block = bindparam("block", type_=_users.c.blocked_until.type)
    return (
        update(_users)
        .where(_users.c.id == bindparam("b_id"))
        .values(
            rating=rating,
            blocked_until=case(
                (and_(rating <= 0, _users.c.blocked_until.is_(None)), block),
                else_=_users.c.blocked_until,
            ),
        )
    )


_RATE = _rate_statement()


def _has_sms(session: Session, order: Order) -> bool:
    return session.scalar(select(Sms.id).where(Sms.order_id == order.id).limit(1)) is not None


def _actionable(order: Order) -> None:
    if order.category == "hosting":
        raise FivesimError(e.HOSTING_ORDER)
    if order.status not in ACTIVE:
        raise FivesimError(e.ORDER_EXPIRED)


def finish(session: Session, *, user_id: int, order_id: int, now: datetime) -> Order:
    """RECEIVED -> FINISHED: charge the hold, +0.5 rating."""
    order = get(session, user_id=user_id, order_id=order_id, now=now)
    _actionable(order)
    if order.status == "PENDING":
        raise FivesimError(e.ORDER_NO_SMS)
    _end(session, order, "FINISHED", now)
    _charge(session, order, now)
    _rate(session, order, FINISH_BONUS, now)
    return order


def cancel(
    session: Session, *, user_id: int, order_id: int, now: datetime, ban: bool = False
) -> Order:
    """PENDING -> CANCELED (or BANNED): refund the hold, -0.1 rating."""
    order = get(session, user_id=user_id, order_id=order_id, now=now)
    _actionable(order)
    if order.status == "RECEIVED":
        raise FivesimError(e.ORDER_HAS_SMS)
    if now - order.created_at < timedelta(seconds=get_settings().cancel_min_seconds):
        raise FivesimError(e.WAIT_TIME)
    _end(session, order, "BANNED" if ban else "CANCELED", now)
    ledger.void_hold(session, hold_id=order.hold_id, now=now)
    _rate(session, order, BAN_PENALTY if ban else CANCEL_PENALTY, now)
    return order


_END_ORDER = (
    update(_orders)
    .where(_orders.c.id == bindparam("b_id"), _orders.c.status.in_(ACTIVE))
    .values(
        status=case((_orders.c.status == "PENDING", "TIMEOUT"), else_="FINISHED"),
        active_number_id=None,
        ended_at=bindparam("now", type_=_orders.c.ended_at.type),
    )
    .returning(
        _orders.c.status,
        _orders.c.number_id,
        _orders.c.country,
        _orders.c.operator,
        *(_orders.c[name] for name in _Ended._fields),
    )
)


@timers.handler(EXPIRY)
def expire(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """At expiry: PENDING -> TIMEOUT (refund), RECEIVED -> FINISHED (charge)."""
    order_id = int(key)
    timers.cancel_all(session, kinds=(EXPIRY, MODEM), key=key)
    versions.touch(session)
    ended = session.connection().execute(_END_ORDER, {"b_id": order_id, "now": now}).first()
    if ended is None:
        return
    stock.release(
        session, number_id=ended.number_id, country=ended.country, operator=ended.operator
    )
    order = _Ended(*(ended._mapping[name] for name in _Ended._fields))
    if ended.status == "TIMEOUT":
        ledger.void_hold(session, hold_id=order.hold_id, now=now)
        _rate(session, order, TIMEOUT_PENALTY, now)
    else:
        _charge(session, order, now)
        _rate(session, order, AUTO_FINISH_BONUS, now)
    _forget(session, order_id)


def _forget(session: Session, order_id: int) -> None:
    """Expire the order's object if this session holds one: it was changed underneath."""
    loaded = session.identity_map.get(identity_key(Order, order_id))
    if loaded is not None:
        session.expire(loaded)


_RECEIVE = (
    update(_orders)
    .where(_orders.c.id == bindparam("b_id"), _orders.c.status.in_(ACTIVE))
    .values(status="RECEIVED")
    .returning(_orders.c.product, _orders.c.country)
)
_INSERT_SMS = insert(_sms)


def deliver_generated(
    session: Session,
    *,
    order_id: int,
    now: datetime,
    message: Callable[[str, str], tuple[str, str, str]],
) -> bool:
    """Deliver an SMS made by message(product, country) to an active order; False if none."""
    conn = session.connection()
    received = conn.execute(_RECEIVE, {"b_id": order_id}).first()
    if received is None:
        return False
    sender, text, _ = message(received.product, received.country)
    conn.execute(
        _INSERT_SMS,
        {
            "order_id": order_id,
            "created_at": now,
            "date": now.replace(microsecond=0),
            "sender": sender,
            "text": text,
            "code": extract_code(text),
        },
    )
    _forget(session, order_id)
    return True


def deliver_sms(
    session: Session,
    *,
    order_id: int,
    sender: str,
    text: str,
    now: datetime,
    date: datetime | None = None,
    apply_expiry: bool = True,
) -> tuple[Order, Sms] | None:
    """Append an SMS to an active order (PENDING -> RECEIVED); None if it is not active."""
    if apply_expiry:
        timers.run_if_due(session, kind=EXPIRY, key=str(order_id), now=now)
    order = session.get(Order, order_id, populate_existing=True)
    if order is None or order.status not in ACTIVE:
        return None
    sms = Sms(
        order_id=order.id,
        created_at=now,
        date=(date or now).replace(microsecond=0),
        sender=sender,
        text=text,
        code=extract_code(text),
    )
    session.add(sms)
    if order.status == "PENDING":
        order.status = "RECEIVED"
    session.flush()
    return order, sms
