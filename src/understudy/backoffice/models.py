"""The back office's tables (every name starts with backoffice_)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
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


class ApiKey(Base):
    """An operator-issued API key: only its SHA-256 and a display prefix are stored."""

    __tablename__ = "backoffice_api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Plan(Base):
    """A plan for sale, with its compensation rules (rates in basis points, money in cents)."""

    __tablename__ = "backoffice_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    price: Mapped[int] = mapped_column(BigInteger, default=0)
    bv: Mapped[int] = mapped_column(BigInteger, default=0)
    image: Mapped[str] = mapped_column(String(200), default="plan.png")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    direct_bp: Mapped[int] = mapped_column(Integer, default=0)
    unilevel_bp: Mapped[list[int]] = mapped_column(JSON, default=list)
    binary_bp: Mapped[int] = mapped_column(Integer, default=0)
    binary_cap: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_carry: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    matrix_on: Mapped[bool] = mapped_column(Boolean, default=False)
    matrix_bp: Mapped[list[int]] = mapped_column(JSON, default=list)
    matrix_directs_needed: Mapped[int] = mapped_column(Integer, default=0)
    matrix_hold_days: Mapped[int] = mapped_column(Integer, default=0)
    # BINARY_MODE=pairs: a pair is pair_left BV on the left against pair_right BV on the right,
    # paying pair_value; the member's first pair may need "2:1" or "1:2" of them.
    pair_left: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    pair_right: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    pair_value: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    first_pair: Mapped[str] = mapped_column(String(3), default="1:1", server_default="1:1")


class Member(Base):
    """A member (Rails `User`); `admin` (id 1) is the root of the sponsor tree."""

    __tablename__ = "backoffice_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(30))
    # Lower-cased copies: usernames and e-mails are unique regardless of case.
    username_key: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str] = mapped_column(Text)
    email_key: Mapped[str] = mapped_column(Text, index=True)
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    mobile: Mapped[str] = mapped_column(Text)
    country_code: Mapped[str] = mapped_column(String(2))
    password_hash: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text, default="en")
    default_leg: Mapped[str] = mapped_column(String(20), default="left")
    request_token_on_edit: Mapped[bool] = mapped_column(Boolean, default=False)
    profile_image: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sponsor_id: Mapped[int | None] = mapped_column(
        ForeignKey("backoffice_users.id"), nullable=True, index=True
    )
    # Binary placement: "placed", "tank" (until tank_until) or "waiting" (sponsor in the tank).
    binary_state: Mapped[str] = mapped_column(String(10), default="placed")
    tank_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    direct_count: Mapped[int] = mapped_column(Integer, default=0)
    active_direct_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # new members per day


class SponsorClosure(Base):
    """Closure of the sponsor tree: every (ancestor, descendant, depth), self at depth 0."""

    __tablename__ = "backoffice_sponsor_closure"
    # Depth-limited downlines (teamview) read only the first levels of a big subtree.
    __table_args__ = (
        Index("ix_backoffice_sponsor_closure_ancestor_depth", "ancestor_id", "depth"),
    )

    ancestor_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"), primary_key=True)
    descendant_id: Mapped[int] = mapped_column(
        ForeignKey("backoffice_users.id"), primary_key=True, index=True
    )
    depth: Mapped[int] = mapped_column(Integer)


class Purchase(Base):
    """One plan bought by a member; the latest one is the member's current plan."""

    __tablename__ = "backoffice_purchases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("backoffice_plans.id"))
    price: Mapped[int] = mapped_column(BigInteger)
    bv: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SecurityToken(Base):
    """A mailed single-use token that authorises one profile edit."""

    __tablename__ = "backoffice_security_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalletEntry(Base):
    """One row of a member's wallet: signed amount and the balance right after it."""

    __tablename__ = "backoffice_wallet_entries"
    __table_args__ = (Index("ix_backoffice_wallet_entries_owner", "user_id", "wallet_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"))
    wallet_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MatrixNode(Base):
    """A member's position in the forced matrix; `open_level` guides breadth-first placement."""

    __tablename__ = "backoffice_matrix_nodes"
    __table_args__ = (UniqueConstraint("parent_id", "slot"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"), primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("backoffice_matrix_nodes.user_id"), nullable=True
    )
    slot: Mapped[int | None] = mapped_column(Integer, nullable=True)
    open_level: Mapped[int] = mapped_column(Integer, default=0)


class BinaryNode(Base):
    """A member's position in the binary tree with the aggregates of its two legs."""

    __tablename__ = "backoffice_binary_nodes"
    __table_args__ = (UniqueConstraint("parent_id", "position"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"), primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("backoffice_binary_nodes.user_id"), nullable=True
    )
    position: Mapped[str | None] = mapped_column(String(5), nullable=True)
    sponsor_side: Mapped[str | None] = mapped_column(String(5), nullable=True)
    left_count: Mapped[int] = mapped_column(Integer, default=0)
    right_count: Mapped[int] = mapped_column(Integer, default=0)
    vol_new_left: Mapped[int] = mapped_column(BigInteger, default=0)
    vol_new_right: Mapped[int] = mapped_column(BigInteger, default=0)
    carry_left: Mapped[int] = mapped_column(BigInteger, default=0)
    carry_right: Mapped[int] = mapped_column(BigInteger, default=0)
    active_directs_left: Mapped[int] = mapped_column(Integer, default=0)
    active_directs_right: Mapped[int] = mapped_column(Integer, default=0)
    pairs_paid: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class MatrixCommission(Base):
    """A matrix bonus: paid at once, or held until the earner has enough active directs."""

    __tablename__ = "backoffice_matrix_commissions"
    __table_args__ = (Index("ix_backoffice_matrix_commissions_earner", "earner_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    earner_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"))
    level: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CategoryResource(Base):
    """A category of downloadable resources."""

    __tablename__ = "backoffice_category_resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    icon: Mapped[str] = mapped_column(String(100))


class CashoutCurrency(Base):
    """A currency members may cash out in."""

    __tablename__ = "backoffice_cashout_currencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Notice(Base):
    """A notice for everyone, for one member, or for the holders of one plan."""

    __tablename__ = "backoffice_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("backoffice_users.id"), nullable=True, index=True
    )
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("backoffice_plans.id"), nullable=True)


class Resource(Base):
    """A downloadable resource in a category."""

    __tablename__ = "backoffice_resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("backoffice_category_resources.id"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    video: Mapped[str] = mapped_column(Text, default="")
    file: Mapped[str] = mapped_column(Text, default="")


class ResourceFile(Base):
    """A resource's uploaded file (kept in the database, served under /uploads/resource/file)."""

    __tablename__ = "backoffice_resource_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Ticket(Base):
    """A member's support ticket."""

    __tablename__ = "backoffice_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"), index=True)
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="New")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketThread(Base):
    """One message of a ticket's conversation (stored verbatim, e.g. Trix HTML)."""

    __tablename__ = "backoffice_ticket_threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("backoffice_tickets.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProfileImage(Base):
    """A member's uploaded picture (kept in the database, the only state)."""

    __tablename__ = "backoffice_profile_images"

    user_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Cashout(Base):
    """A member's request to withdraw from a wallet: pending, then approved or rejected once."""

    __tablename__ = "backoffice_cashouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("backoffice_users.id"), index=True)
    wallet_id: Mapped[int] = mapped_column(Integer)
    currency_id: Mapped[int] = mapped_column(ForeignKey("backoffice_cashout_currencies.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    address: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
