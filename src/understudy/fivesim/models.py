"""fivesim's tables: users, catalogue (countries, operators, products, prices), numbers, orders,
payments and payouts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from understudy.core.db import Base, UTCDateTime

ACTIVE = ("PENDING", "RECEIVED")
FINAL = ("CANCELED", "TIMEOUT", "FINISHED", "BANNED")


class User(Base):
    """A buyer (and, with a vendor name, a vendor); money lives in the ledger."""

    __tablename__ = "fivesim_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Hundredths of a point: the rating moves by 0.1, 0.15, 0.4, 0.5 and 8.
    rating: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    vendor: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # A vendor whose simulated modem answers every purchase with an SMS (the demo vendor).
    modem: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    default_country: Mapped[str] = mapped_column(String(50), default="russia")
    default_operator: Mapped[str] = mapped_column(String(50), default="")
    default_forwarding_number: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Country(Base):
    """One of 5sim's canonical countries."""

    __tablename__ = "fivesim_countries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    iso: Mapped[str] = mapped_column(String(2))
    prefix: Mapped[str] = mapped_column(String(10))
    text_en: Mapped[str] = mapped_column(String(100))
    text_ru: Mapped[str] = mapped_column(String(100))


class Operator(Base):
    """A mobile operator offered in one country."""

    __tablename__ = "fivesim_operators"
    __table_args__ = (UniqueConstraint("country", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(50))
    # Numbers of this country and operator in no active order (kept by fivesim.stock).
    free_numbers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Product(Base):
    """A service a number is bought for; category activation or hosting."""

    __tablename__ = "fivesim_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    category: Mapped[str] = mapped_column(String(20))


class Price(Base):
    """The operator-set price of a product on one country's operator (an offer)."""

    __tablename__ = "fivesim_prices"
    __table_args__ = (UniqueConstraint("country", "operator", "product"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(50))
    operator: Mapped[str] = mapped_column(String(50))
    product: Mapped[str] = mapped_column(String(50), index=True)
    price: Mapped[int] = mapped_column(BigInteger)


class Number(Base):
    """A vendor's phone number; it serves every product priced for its country/operator."""

    __tablename__ = "fivesim_numbers"
    __table_args__ = (Index("ix_fivesim_numbers_country_operator", "country", "operator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("fivesim_users.id"))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    country: Mapped[str] = mapped_column(String(50))
    operator: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsedStock(Base):
    """How many idle numbers of a country and operator are used up for a product."""

    __tablename__ = "fivesim_used_stock"
    __table_args__ = (UniqueConstraint("country", "operator", "product"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(50))
    operator: Mapped[str] = mapped_column(String(50))
    product: Mapped[str] = mapped_column(String(50))
    count: Mapped[int] = mapped_column(Integer)


class Order(Base):
    """A purchase of a number for a product; `active_number_id` guards against double sale."""

    __tablename__ = "fivesim_orders"
    __table_args__ = (
        Index("ix_fivesim_orders_user_category", "user_id", "category"),
        # A number's orders, by product: whether it is used up for one (stock, buying).
        Index("ix_fivesim_orders_number_product", "number_id", "product"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("fivesim_users.id"))
    number_id: Mapped[int] = mapped_column(ForeignKey("fivesim_numbers.id"))
    # The number while the order is PENDING/RECEIVED, NULL once final: unique, so a number is
    # in at most one active order.
    active_number_id: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("fivesim_users.id"))
    phone: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(50))
    operator: Mapped[str] = mapped_column(String(50))
    product: Mapped[str] = mapped_column(String(50))
    category: Mapped[str] = mapped_column(String(20))
    price: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    hold_id: Mapped[int] = mapped_column(ForeignKey("ledger_holds.id"))
    forwarding: Mapped[bool] = mapped_column(Boolean, default=False)
    forwarding_number: Mapped[str] = mapped_column(String(20), default="")
    reuse: Mapped[bool] = mapped_column(Boolean, default=False)
    voice: Mapped[bool] = mapped_column(Boolean, default=False)
    ref: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # console's per day
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class Sms(Base):
    """An SMS received on an order's number."""

    __tablename__ = "fivesim_sms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("fivesim_orders.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    date: Mapped[datetime] = mapped_column(UTCDateTime)
    sender: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(20))


class Payment(Base):
    """A row of a user's (or, with `vendor`, a vendor's) payment history."""

    __tablename__ = "fivesim_payments"
    __table_args__ = (Index("ix_fivesim_payments_user_vendor", "user_id", "vendor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("fivesim_users.id"))
    vendor: Mapped[bool] = mapped_column(Boolean, default=False)
    type_name: Mapped[str] = mapped_column(String(20))
    provider_name: Mapped[str] = mapped_column(String(50))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MaxPrice(Base):
    """A user's price ceiling for one product."""

    __tablename__ = "fivesim_max_prices"
    __table_args__ = (UniqueConstraint("user_id", "product"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("fivesim_users.id"))
    product: Mapped[str] = mapped_column(String(50))
    price: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Reserve(Base):
    """An operator-set payout reserve of one payment system (fkwallet, payeer, unitpay)."""

    __tablename__ = "fivesim_reserves"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


class StockVersion(Base):
    """One shard of the stock/price version: bumped by every change the prices answer shows.

    The sum over the shards identifies a catalogue state; shards spread the write contention
    of concurrent buyers, and random start values make a reset never repeat an earlier sum.
    """

    __tablename__ = "fivesim_stock_versions"

    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


class Payout(Base):
    """A vendor's withdrawal under review: its earnings stay on hold until an operator decides.

    `pending` -> `approved` (the hold is posted: the money leaves) or `rejected` (the hold is
    voided and the reserve given back), each decided once by a conditional update.
    """

    __tablename__ = "fivesim_payouts"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="state_known"),
        Index("ix_fivesim_payouts_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("fivesim_users.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    receiver: Mapped[str] = mapped_column(String(200))
    # The operator-set reserve (the `fee` field of the withdrawal) the amount was taken from.
    reserve: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    hold_id: Mapped[int] = mapped_column(ForeignKey("ledger_holds.id"), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The console operator who decided (no foreign key: operators outlive sandbox resets and
    # belong to the installation, not to fivesim).
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
