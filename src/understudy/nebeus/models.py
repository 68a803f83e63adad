"""nebeus tables (every name prefixed `nebeus_`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from understudy.core.db import Base, UTCDateTime


class Country(Base):
    """An ISO 3166-1 country with its calling code and first IANA zone."""

    __tablename__ = "nebeus_countries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tz: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Currency(Base):
    """A supported currency and its market rate in units per EUR (decimal text)."""

    __tablename__ = "nebeus_currencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(10), unique=True)
    rate: Mapped[str] = mapped_column(String(40))
    symbol: Mapped[str] = mapped_column(String(10))
    symbol_pos: Mapped[str] = mapped_column(String(10))


class Partner(Base):
    """The person behind a user (Odoo res.partner)."""

    __tablename__ = "nebeus_partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    surname: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    country_id: Mapped[int | None] = mapped_column(ForeignKey("nebeus_countries.id"), nullable=True)
    city: Mapped[str | None] = mapped_column(String(200), nullable=True)


class User(Base):
    """A login (lower-cased e-mail) with its password hash and preferences."""

    __tablename__ = "nebeus_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    partner_id: Mapped[int] = mapped_column(ForeignKey("nebeus_partners.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    lang: Mapped[str] = mapped_column(String(10))
    tz: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Device(Base):
    """A push-notification device given at signup (OneSignal fields)."""

    __tablename__ = "nebeus_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(500), unique=True)
    device_type: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str | None] = mapped_column(String(20), nullable=True)
    timezone: Mapped[int | None] = mapped_column(Integer, nullable=True)
    app_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    device_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    device_os: Mapped[str | None] = mapped_column(String(100), nullable=True)
    player_id: Mapped[str | None] = mapped_column(String(100), nullable=True)


class WebSession(Base):
    """A signed-in session (Odoo's session id), alive until logout or 7 idle days."""

    __tablename__ = "nebeus_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed sign-in, counted per login over 15 minutes by every worker alike."""

    __tablename__ = "nebeus_login_failures"
    __table_args__ = (Index("ix_nebeus_login_failures_login_at", "login", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResetToken(Base):
    """A single-use password-reset token (stored hashed), valid 24 hours."""

    __tablename__ = "nebeus_reset_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class MoneyAccount(Base):
    """A user's wallet in one currency, backed by a core ledger account."""

    __tablename__ = "nebeus_accounts"
    __table_args__ = (UniqueConstraint("user_id", "currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    currency: Mapped[str] = mapped_column(String(10))
    acc_number: Mapped[str] = mapped_column(String(64), unique=True)
    ledger_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConfirmationCode(Base):
    """A two-step confirmation code bound to a user, an operation and its parameters."""

    __tablename__ = "nebeus_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    operation: Mapped[str] = mapped_column(String(100))
    params_digest: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(10), default="pending")


class HelpdeskTicket(Base):
    """A support ticket (Odoo crm.helpdesk)."""

    __tablename__ = "nebeus_helpdesk_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    email_from: Mapped[str] = mapped_column(String(320))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("nebeus_partners.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Verification(Base):
    """A KYC item of a user: identity/address (not_verified|pending|verified|rejected), phone."""

    __tablename__ = "nebeus_verifications"
    __table_args__ = (UniqueConstraint("user_id", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"))
    item: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    value: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the verified phone
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VerificationDocument(Base):
    """A scan uploaded for a KYC item (PDF, JPEG or PNG)."""

    __tablename__ = "nebeus_verification_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    item: Mapped[str] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(50))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Withdrawal(Base):
    """Money leaving a wallet to an address: held, then posted by a timer after 60 s."""

    __tablename__ = "nebeus_withdrawals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("nebeus_accounts.id"))
    address: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)
    hold_id: Mapped[int] = mapped_column(ForeignKey("ledger_holds.id"))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PartnerImage(Base):
    """A partner's picture: the original as uploaded and its two square PNG thumbnails."""

    __tablename__ = "nebeus_partner_images"

    partner_id: Mapped[int] = mapped_column(ForeignKey("nebeus_partners.id"), primary_key=True)
    original: Mapped[bytes] = mapped_column(LargeBinary)
    small: Mapped[bytes] = mapped_column(LargeBinary)
    big: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SavedCard(Base):
    """A card kept for later payments: first/last four digits, holder, expiry, processor token."""

    __tablename__ = "nebeus_cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    first4: Mapped[str] = mapped_column(String(4))
    last4: Mapped[str] = mapped_column(String(4))
    holder: Mapped[str] = mapped_column(String(200))
    expiry: Mapped[str] = mapped_column(String(5))
    token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Trade(Base):
    """A bitcoin purchase or sale, with its EUR value for the monthly limit."""

    __tablename__ = "nebeus_trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(4))
    btc_amount: Mapped[int] = mapped_column(BigInteger)
    eur_amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CardRecipient(Base):
    """A saved card-to-card recipient (the number is kept to pay it again)."""

    __tablename__ = "nebeus_card_recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    country_id: Mapped[int] = mapped_column(ForeignKey("nebeus_countries.id"))
    card_number: Mapped[str] = mapped_column(String(19))
    email: Mapped[str] = mapped_column(String(320))
    cardholder_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)


class CardOrder(Base):
    """A card-to-card payment: pending (wallet funds held) until paid out after 60 s."""

    __tablename__ = "nebeus_card_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    from_sum: Mapped[int] = mapped_column(BigInteger)
    from_currency: Mapped[str] = mapped_column(String(10))
    to_sum: Mapped[int] = mapped_column(BigInteger)
    to_currency: Mapped[str] = mapped_column(String(10))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("nebeus_accounts.id"), nullable=True)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_holds.id"), nullable=True)
    recipient_card: Mapped[str] = mapped_column(String(19))
    recipient_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
