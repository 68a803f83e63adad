"""The vendor side (contract §4.6, §10.1): supply numbers and SMS, earnings, reserves, payouts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from understudy.core import ledger
from understudy.core.text import is_ascii_digits
from understudy.fivesim import catalogue, orders, payouts, stock, versions
from understudy.fivesim import errors as e
from understudy.fivesim.errors import FivesimError
from understudy.fivesim.models import ACTIVE, Number, Operator, Order, Payout, Reserve, Sms, User
from understudy.fivesim.service import add_payment, vendor_balance

RESERVES = ("fkwallet", "payeer", "unitpay")
METHODS = ("visa", "qiwi", "yandex")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")


def reserves(session: Session) -> dict[str, int]:
    """Every payout reserve in minor units (0 when never set)."""
    stored = {name: value for name, value in session.execute(select(Reserve.name, Reserve.amount))}
    return {name: int(stored.get(name, 0)) for name in RESERVES}


def set_reserves(session: Session, *, amounts: dict[str, int]) -> None:
    """Set some reserves to new amounts."""
    for name, value in amounts.items():
        row = session.get(Reserve, name)
        if row is None:
            session.add(Reserve(name=name, amount=value))
        else:
            row.amount = value
    session.flush()


def withdraw(
    session: Session,
    *,
    user: User,
    method: str,
    amount: int | None,
    fee: str,
    now: datetime,
    receiver: str = "",
) -> Payout:
    """Ask for a payout: takes the amount from that reserve and holds it on the earnings.

    The vendor sees both drop at once (and a `withdraw` row); the money leaves when an operator
    approves the payout, or comes back when one rejects it (fivesim.payouts).
    """
    if method not in METHODS:
        raise FivesimError(e.BAD_METHOD)
    if fee not in RESERVES:
        raise FivesimError(e.BAD_FEE)
    if amount is None or amount <= 0:
        raise FivesimError(e.BAD_AMOUNT)
    taken = session.execute(
        update(Reserve)
        .where(Reserve.name == fee, Reserve.amount >= amount)
        .values(amount=Reserve.amount - amount)
    ).rowcount
    if taken != 1:
        raise FivesimError(e.NOT_ENOUGH_BALANCE)
    try:
        payout = payouts.open_payout(
            session,
            user_id=user.id,
            method=method,
            receiver=receiver,
            reserve=fee,
            amount=amount,
            now=now,
        )
    except ledger.InsufficientFunds:
        raise FivesimError(e.NOT_ENOUGH_BALANCE) from None
    add_payment(
        session,
        user_id=user.id,
        type_name="withdraw",
        provider=fee,
        amount=-amount,
        now=now,
        vendor=True,
    )
    return payout


@dataclass(frozen=True)
class NewNumber:
    """A number a vendor offers."""

    phone: str
    country: str
    operator: str


def add_numbers(
    session: Session, *, vendor_id: int, numbers: list[NewNumber], now: datetime
) -> tuple[int, int]:
    """Add the vendor's numbers; phones already known are skipped. Returns (added, skipped)."""
    cleaned = []
    for item in numbers:
        if catalogue.country(session, name=item.country) is None:
            raise FivesimError(e.BAD_COUNTRY)
        if not SLUG.match(item.operator) or item.operator == orders.ANY:
            raise FivesimError(e.BAD_OPERATOR)
        digits = re.sub(r"[\s()-]", "", item.phone).removeprefix("+")
        if not (is_ascii_digits(digits) and 6 <= len(digits) <= 15):
            raise FivesimError(e.BAD_PHONE)
        cleaned.append(NewNumber("+" + digits, item.country, item.operator))
    added = skipped = 0
    for item in cleaned:
        if session.scalar(select(Number.id).where(Number.phone == item.phone)) is not None:
            skipped += 1
            continue
        if not catalogue.operator_offered(session, country=item.country, name=item.operator):
            session.add(Operator(country=item.country, name=item.operator))
        session.add(
            Number(
                vendor_id=vendor_id,
                phone=item.phone,
                country=item.country,
                operator=item.operator,
                created_at=now,
            )
        )
        session.flush()
        stock.added(session, [(item.country, item.operator)])
        added += 1
    if added:
        versions.touch(session)
    return added, skipped


def incoming_sms(
    session: Session,
    *,
    vendor_id: int,
    phone: str,
    sender: str,
    text: str,
    now: datetime,
    date: datetime | None = None,
) -> tuple[Order, Sms]:
    """Deliver an SMS received on one of the vendor's numbers to its active order."""
    digits = re.sub(r"[\s()-]", "", phone).removeprefix("+")
    order_id = session.scalar(
        select(Order.id)
        .join(Number, Number.id == Order.number_id)
        .where(
            Number.phone == "+" + digits,
            Number.vendor_id == vendor_id,
            Order.status.in_(ACTIVE),
        )
    )
    delivered = None
    if order_id is not None:
        delivered = orders.deliver_sms(
            session, order_id=order_id, sender=sender, text=text, now=now, date=date
        )
    if delivered is None:
        raise FivesimError(e.ORDER_NOT_FOUND, 404)
    return delivered


def earnings(session: Session, *, user_id: int) -> int:
    """A vendor's withdrawable earnings."""
    return vendor_balance(session, user_id=user_id)
