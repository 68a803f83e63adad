"""Buying and the order lifecycle (contract §4.1, §5, §6, §8): hold, SMS, finish, refund, expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from understudy.core import ledger, timers
from understudy.fivesim import catalogue, versions
from understudy.fivesim import errors as e
from understudy.fivesim.codes import extract_code
from understudy.fivesim.errors import FivesimError
from understudy.fivesim.models import ACTIVE, MaxPrice, Number, Order, Price, Sms, User
from understudy.fivesim.service import (
    add_payment,
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
    return number if len(number) == 11 and number.isdigit() and number[0] in "78" else ""


def buy(session: Session, *, user: User, request: BuyRequest, now: datetime) -> Order:
    """Buy a number for a product: checks in the documented order, then a hold on the price."""
    if not request.country:
        raise FivesimError(e.SELECT_COUNTRY)
    if not request.operator:
        raise FivesimError(e.SELECT_OPERATOR)
    country = None if request.country == ANY else request.country
    if country is not None and catalogue.country(session, name=country) is None:
        raise FivesimError(e.BAD_COUNTRY)
    operator = None if request.operator == ANY else request.operator
    if operator is not None and not catalogue.operator_offered(
        session, country=country, name=operator
    ):
        raise FivesimError(e.BAD_OPERATOR)
    product = catalogue.product(session, name=request.product)
    if product is None or product.category != request.category:
        raise FivesimError(e.NO_PRODUCT)
    _check_rating(session, user, now)
    max_price = request.max_price
    if max_price is None:
        max_price = session.scalar(
            select(MaxPrice.price).where(
                MaxPrice.user_id == user.id, MaxPrice.product == product.name
            )
        )
    candidates = [
        o
        for o in catalogue.offers(session, country=country, operator=operator, product=product.name)
        if o.count > 0 and (operator is not None or max_price is None or o.price <= max_price)
    ]
    if not candidates:
        raise FivesimError(e.NO_FREE_PHONES, get_settings().no_free_phones_status)
    candidates.sort(key=lambda o: (o.price, -o.count, o.country, o.operator))
    offer = candidates[0]
    if money_of(session, user_id=user.id).balance < offer.price:
        raise FivesimError(e.NOT_ENOUGH_BALANCE)
    if get_settings().maintenance:
        raise FivesimError(e.SERVER_OFFLINE)
    for _ in range(CLAIM_ATTEMPTS):
        claimed = _claim(session, candidates)
        if claimed is None:
            break
        number, offer = claimed
        try:
            with session.begin_nested():
                return _open_order(
                    session, user=user, number=number, offer=offer, request=request, now=now
                )
        except IntegrityError:  # a concurrent buyer committed this number first: next one
            continue
    raise FivesimError(e.NO_FREE_PHONES, get_settings().no_free_phones_status)


def _claim(
    session: Session, candidates: list[catalogue.Offer]
) -> tuple[Number, catalogue.Offer] | None:
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
    if not (number.isdigit() and 4 <= len(number) <= 15):
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
    found = session.get(Number, earlier.number_id)
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
                session, user=user, number=found, offer=offer, request=request, now=now
            )
    except IntegrityError:
        raise FivesimError(e.NO_FREE_PHONES, get_settings().no_free_phones_status) from None


def _claim_number(session: Session, *, offer: catalogue.Offer) -> Number | None:
    """A free number of the offer, locked on PostgreSQL so concurrent buyers skip it."""
    stmt = (
        select(Number)
        .where(
            Number.country == offer.country,
            Number.operator == offer.operator,
            catalogue.free_numbers(offer.product),
        )
        .order_by(Number.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


def _expiry(product: str, category: str, now: datetime) -> datetime:
    if category == "hosting":
        return now + timedelta(hours=catalogue.HOSTING_HOURS.get(product, 24))
    return now + timedelta(minutes=get_settings().activation_minutes)


def _open_order(
    session: Session,
    *,
    user: User,
    number: Number,
    offer: catalogue.Offer,
    request: BuyRequest,
    now: datetime,
) -> Order:
    versions.touch(session)  # first: every transaction takes the version row before accounts
    account = user_account(session, user_id=user.id, now=now)
    try:
        hold = ledger.place_hold(
            session, account_id=account.id, amount=offer.price, label="fivesim order", now=now
        )
    except ledger.InsufficientFunds:
        raise FivesimError(e.NOT_ENOUGH_BALANCE) from None
    forwarding_number = _forwarding_number(request.number, user) if request.forwarding else ""
    order = Order(
        user_id=user.id,
        number_id=number.id,
        active_number_id=number.id,
        vendor_id=number.vendor_id,
        phone=number.phone,
        country=offer.country,
        operator=offer.operator,
        product=offer.product,
        category=offer.category,
        price=offer.price,
        status="PENDING",
        hold_id=hold.id,
        forwarding=request.forwarding,
        forwarding_number=forwarding_number,
        reuse=request.reuse,
        voice=request.voice,
        ref=request.ref,
        created_at=now,
        expires_at=_expiry(offer.product, offer.category, now),
    )
    session.add(order)
    session.flush()  # the unique active_number_id refuses a number sold concurrently
    timers.schedule(session, kind=EXPIRY, key=str(order.id), due_at=order.expires_at)
    vendor = session.get(User, number.vendor_id)
    if vendor is not None and vendor.modem:
        delay = timedelta(seconds=get_settings().modem_seconds)
        timers.schedule(session, kind=MODEM, key=str(order.id), due_at=now + delay)
    return order


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
    timers.cancel(session, kind=EXPIRY, key=str(order.id))
    timers.cancel(session, kind=MODEM, key=str(order.id))
    versions.touch(session)
    session.flush()


def _charge(session: Session, order: Order, now: datetime) -> None:
    """Post the order's hold: the vendor's share and the marketplace's rest; `buy` rows."""
    vendor_cut = int(order.price * get_settings().vendor_share)
    vendor = vendor_account(session, user_id=order.vendor_id, now=now)
    revenue = revenue_account(session, now=now)
    ledger.post_hold(
        session,
        hold_id=order.hold_id,
        to=[(vendor.id, vendor_cut), (revenue.id, order.price - vendor_cut)],
        label=f"fivesim order {order.id}",
        now=now,
    )
    add_payment(
        session,
        user_id=order.user_id,
        type_name="buy",
        provider=order.product,
        amount=-order.price,
        now=now,
    )
    if vendor_cut:
        add_payment(
            session,
            user_id=order.vendor_id,
            type_name="sell",
            provider=order.product,
            amount=vendor_cut,
            now=now,
            vendor=True,
        )


def _rate(session: Session, order: Order, delta: int, now: datetime) -> None:
    if order.category != "activation":
        return
    user = session.get(User, order.user_id)
    assert user is not None
    change_rating(session, user=user, delta=delta, now=now)


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


@timers.handler(EXPIRY)
def expire(session: Session, *, key: str, payload: dict[str, Any], now: datetime) -> None:
    """At expiry: PENDING -> TIMEOUT (refund), RECEIVED -> FINISHED (charge)."""
    order = session.get(Order, int(key), populate_existing=True)
    if order is None or order.status not in ACTIVE:
        return
    if order.status == "PENDING":
        _end(session, order, "TIMEOUT", now)
        ledger.void_hold(session, hold_id=order.hold_id, now=now)
        _rate(session, order, TIMEOUT_PENALTY, now)
    else:
        _end(session, order, "FINISHED", now)
        _charge(session, order, now)
        _rate(session, order, AUTO_FINISH_BONUS, now)


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
