"""Users, money and history: the ledger holds buyers' money (available = balance, held = frozen)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from understudy.core import ledger
from understudy.core.money import major_number
from understudy.fivesim.models import ACTIVE, Country, MaxPrice, Order, Payment, Sms, User
from understudy.fivesim.settings import get_settings

CURRENCY = "RUB"
MAX_RATING = 9600  # hundredths of a point
TOP_UP_BONUS = 800
SANDBOX_VENDOR_EMAIL = "sandbox-vendor@example.com"
ORDER_FIELDS = ("id", "phone", "operator", "product", "price", "status", "created_at", "country")
PAYMENT_FIELDS = {
    "id": Payment.id,
    "typename": Payment.type_name,
    "providername": Payment.provider_name,
    "amount": Payment.amount,
    "balance": Payment.balance,
    "createdat": Payment.created_at,
    "created_at": Payment.created_at,
}


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def user_by_token(session: Session, *, token: str) -> User | None:
    """The user owning this API token, or None."""
    if not token:
        return None
    return session.scalar(_USER_BY_TOKEN, {"token_hash": hash_token(token)})


_USER_BY_TOKEN = select(User).where(User.token_hash == bindparam("token_hash"))


def user_account(session: Session, *, user_id: int, now: datetime) -> ledger.Account:
    """The user's buyer account."""
    return ledger.open_account(
        session, key=f"fivesim:user:{user_id}:{CURRENCY}", currency=CURRENCY, now=now
    )


def vendor_account(session: Session, *, user_id: int, now: datetime) -> ledger.Account:
    """The vendor's earnings account."""
    return ledger.open_account(
        session, key=f"fivesim:vendor:{user_id}:{CURRENCY}", currency=CURRENCY, now=now
    )


def world_account(session: Session, *, now: datetime) -> ledger.Account:
    """Where money entering from outside comes from."""
    return ledger.open_account(
        session, key=f"fivesim:world:{CURRENCY}", currency=CURRENCY, now=now, allow_negative=True
    )


def revenue_account(session: Session, *, now: datetime) -> ledger.Account:
    """The marketplace's share of every sale."""
    return ledger.open_account(
        session, key=f"fivesim:revenue:{CURRENCY}", currency=CURRENCY, now=now
    )


@dataclass(frozen=True)
class Money:
    """A buyer's balance as shown: available and frozen, in minor units."""

    balance: int
    frozen: int


def money_of(session: Session, *, user_id: int) -> Money:
    """What the user may spend and what is frozen in open orders."""
    account = ledger.get_account(session, f"fivesim:user:{user_id}:{CURRENCY}")
    if account is None:
        return Money(0, 0)
    current = ledger.balance_of(session, account.id)
    return Money(current.available, current.held)


def vendor_balance(session: Session, *, user_id: int) -> int:
    """A vendor's earnings not yet withdrawn."""
    account = ledger.get_account(session, f"fivesim:vendor:{user_id}:{CURRENCY}")
    return 0 if account is None else ledger.balance_of(session, account.id).available


def add_payment(
    session: Session,
    *,
    user_id: int,
    type_name: str,
    provider: str,
    amount: int,
    now: datetime,
    vendor: bool = False,
) -> Payment:
    """Record a payment-history row with the balance after it."""
    balance = (
        vendor_balance(session, user_id=user_id)
        if vendor
        else money_of(session, user_id=user_id).balance
    )
    row = Payment(
        user_id=user_id,
        vendor=vendor,
        type_name=type_name,
        provider_name=provider,
        amount=amount,
        balance=balance,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def change_rating(session: Session, *, user: User, delta: int, now: datetime) -> None:
    """Move the rating within 0..96; reaching 0 blocks buying for 24 hours."""
    user.rating = max(0, min(MAX_RATING, user.rating + delta))
    if user.rating <= 0 and user.blocked_until is None:
        user.blocked_until = now + timedelta(hours=24)
    session.flush()


def top_up(
    session: Session, *, user: User, amount: int, provider: str, now: datetime, bonus: bool = True
) -> None:
    """Credit money from outside: a `charge` row and, unless told otherwise, +8 rating."""
    world = world_account(session, now=now)
    account = user_account(session, user_id=user.id, now=now)
    ledger.transfer(
        session, source=world.id, dest=account.id, amount=amount, label="fivesim top-up", now=now
    )
    add_payment(
        session, user_id=user.id, type_name="charge", provider=provider, amount=amount, now=now
    )
    if bonus:
        change_rating(session, user=user, delta=TOP_UP_BONUS, now=now)


def create_user(
    session: Session,
    *,
    email: str,
    now: datetime,
    balance: int = 0,
    rating: int | None = None,
    vendor: str | None = None,
) -> tuple[User, str]:
    """A new user with a fresh API token (returned once; only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    start = round(get_settings().start_rating * 100)
    user = User(
        email=email,
        token_hash=hash_token(token),
        rating=start,
        vendor=vendor,
        default_country="russia",
        default_operator="",
        default_forwarding_number="",
        created_at=now,
    )
    session.add(user)
    session.flush()
    user_account(session, user_id=user.id, now=now)
    if balance > 0:
        top_up(session, user=user, amount=balance, provider="admin", now=now)
    if rating is not None:
        user.rating = rating
        user.blocked_until = now + timedelta(hours=24) if rating <= 0 else None
    session.flush()
    return user, token


def email_exists(session: Session, *, email: str) -> bool:
    """Whether a user already has this e-mail (case-insensitive)."""
    return (
        session.scalar(select(User.id).where(func.lower(User.email) == email.lower())) is not None
    )


def sandbox_vendor(session: Session, *, now: datetime) -> User:
    """The built-in vendor owning numbers added through the control plane."""
    user = session.scalar(select(User).where(User.email == SANDBOX_VENDOR_EMAIL))
    if user is None:
        user, _ = create_user(session, email=SANDBOX_VENDOR_EMAIL, now=now, vendor="sandbox")
    return user


@dataclass(frozen=True)
class Profile:
    """Everything /user/profile shows, in Python types."""

    user: User
    country: Country | None
    money: Money
    did_order: bool
    last_order: str
    last_top_orders: str
    total_active: int


def _combo(country: str, product: str, operator: str, count: int, price: int) -> str:
    return f"{country}:{product}:{operator}:{count}:{major_number(price, CURRENCY)}"


def profile(session: Session, *, user: User) -> Profile:
    """The profile with its live fields derived from the user's orders."""
    mine = Order.user_id == user.id
    last = session.scalar(select(Order).where(mine).order_by(Order.id.desc()).limit(1))
    count, newest = func.count(), func.max(Order.id)
    groups = session.execute(
        select(Order.country, Order.product, Order.operator, count, newest)
        .where(mine)
        .group_by(Order.country, Order.product, Order.operator)
        .order_by(count.desc(), newest.desc())
        .limit(5)
    ).all()
    prices = (
        dict(
            session.execute(
                select(Order.id, Order.price).where(Order.id.in_([g[4] for g in groups]))
            ).all()
        )
        if groups
        else {}
    )
    if last is not None:
        last_order = _combo(last.country, last.product, last.operator, 1, last.price)
        top = [_combo(c, p, o, n, prices[newest_id]) for c, p, o, n, newest_id in groups]
    else:
        last_order = "any:any:any:0:0"
        top = [last_order]
    active = session.scalar(
        select(func.count()).select_from(Order).where(mine, Order.status.in_(ACTIVE))
    )
    return Profile(
        user=user,
        country=session.scalar(select(Country).where(Country.name == user.default_country)),
        money=money_of(session, user_id=user.id),
        did_order=last is not None,
        last_order=last_order,
        last_top_orders="[" + ",".join(top) + "]",
        total_active=int(active or 0),
    )


def page_orders(
    session: Session,
    *,
    user_id: int,
    category: str,
    limit: int,
    offset: int,
    order: str,
    reverse: bool,
    vendor: bool = False,
) -> tuple[list[Order], int]:
    """One page of the user's (or vendor's) orders of a category, and how many there are."""
    owner = Order.vendor_id if vendor else Order.user_id
    where = (owner == user_id, Order.category == category)
    column = getattr(Order, order if order in ORDER_FIELDS else "id")
    if order == "created_at":
        column = Order.created_at
    sort = [column.desc(), Order.id.desc()] if reverse else [column.asc(), Order.id.asc()]
    rows = session.scalars(
        select(Order).where(*where).order_by(*sort).limit(limit).offset(offset)
    ).all()
    total = session.scalar(select(func.count()).select_from(Order).where(*where)) or 0
    return list(rows), total


def page_payments(
    session: Session,
    *,
    user_id: int,
    limit: int,
    offset: int,
    order: str,
    reverse: bool,
    vendor: bool = False,
) -> tuple[list[Payment], int, list[str], list[str]]:
    """One page of payments, the total, and the distinct type and provider names."""
    where = (Payment.user_id == user_id, Payment.vendor.is_(vendor))
    column = PAYMENT_FIELDS.get(order.lower(), Payment.id)
    sort = [column.desc(), Payment.id.desc()] if reverse else [column.asc(), Payment.id.asc()]
    rows = session.scalars(
        select(Payment).where(*where).order_by(*sort).limit(limit).offset(offset)
    ).all()
    total = session.scalar(select(func.count()).select_from(Payment).where(*where)) or 0
    types = session.scalars(
        select(Payment.type_name).where(*where).distinct().order_by(Payment.type_name)
    ).all()
    providers = session.scalars(
        select(Payment.provider_name).where(*where).distinct().order_by(Payment.provider_name)
    ).all()
    return list(rows), total, list(types), list(providers)


def sms_by_order(session: Session, *, order_ids: list[int]) -> dict[int, list[Sms]]:
    """The SMS of these orders, oldest first, keyed by order id."""
    result: dict[int, list[Sms]] = {i: [] for i in order_ids}
    if order_ids:
        rows = session.scalars(
            select(Sms).where(Sms.order_id.in_(order_ids)).order_by(Sms.id)
        ).all()
        for row in rows:
            result[row.order_id].append(row)
    return result


def max_prices(session: Session, *, user_id: int) -> list[MaxPrice]:
    """The user's price ceilings, oldest first."""
    return list(
        session.scalars(
            select(MaxPrice).where(MaxPrice.user_id == user_id).order_by(MaxPrice.id)
        ).all()
    )


def set_max_price(
    session: Session, *, user_id: int, product: str, price: int, now: datetime
) -> MaxPrice:
    """Create or update the user's ceiling for a product."""
    row = session.scalar(
        select(MaxPrice).where(MaxPrice.user_id == user_id, MaxPrice.product == product)
    )
    if row is None:
        row = MaxPrice(user_id=user_id, product=product, price=price, created_at=now)
        session.add(row)
    else:
        row.price = price
    session.flush()
    return row


def delete_max_price(session: Session, *, user_id: int, product: str) -> bool:
    """Remove the user's ceiling for a product; False if there was none."""
    row = session.scalar(
        select(MaxPrice).where(MaxPrice.user_id == user_id, MaxPrice.product == product)
    )
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
