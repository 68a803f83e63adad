"""P2P loan tables (contract §9) and the OAuth links the dashboard shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from understudy.core.db import Base, UTCDateTime

LOAN_STATES = ("open", "funded", "active", "repaid", "defaulted", "cancelled")
INSTALMENT_STATES = ("scheduled", "paid", "late", "defaulted")


class Loan(Base):
    """A loan request funded by one lender, repaid in annuity instalments."""

    __tablename__ = "nebeus_loans"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "state IN ('open', 'funded', 'active', 'repaid', 'defaulted', 'cancelled')",
            name="state_known",
        ),
        Index("ix_nebeus_loans_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"), index=True)
    lender_id: Mapped[int | None] = mapped_column(
        ForeignKey("nebeus_users.id"), nullable=True, index=True
    )
    state: Mapped[str] = mapped_column(String(10), default="open")
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(10))
    term: Mapped[int] = mapped_column(Integer)
    rate_bp: Mapped[int] = mapped_column(Integer)  # annual interest in hundredths of a percent
    collateral_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    collateral_currency: Mapped[str | None] = mapped_column(String(10), nullable=True)
    collateral_hold_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_holds.id"), nullable=True
    )
    funding_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("nebeus_accounts.id"), nullable=True
    )
    funding_hold_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_holds.id"), nullable=True
    )
    disbursement_posting_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_postings.id"), nullable=True, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    funded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disbursed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Instalment(Base):
    """One scheduled repayment of a loan (principal + interest), collected once."""

    __tablename__ = "nebeus_loan_instalments"
    __table_args__ = (
        UniqueConstraint("loan_id", "number"),
        CheckConstraint("state IN ('scheduled', 'paid', 'late', 'defaulted')", name="state_known"),
        Index("ix_nebeus_loan_instalments_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(9), unique=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("nebeus_loans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(10), default="scheduled")
    late_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    posting_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_postings.id"), nullable=True, unique=True
    )


class OAuthLink(Base):
    """A social network account linked to a user (Odoo auth_oauth's provider + uid)."""

    __tablename__ = "nebeus_oauth_links"
    __table_args__ = (UniqueConstraint("user_id", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("nebeus_users.id"))
    provider: Mapped[str] = mapped_column(String(50))
    oauth_uid: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
