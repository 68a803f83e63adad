"""nebeus: P2P loans and their instalment schedules; OAuth links shown on the dashboard.

Revision ID: nebeus0002
Revises: services0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import understudy.core.db

revision: str = "nebeus0002"
down_revision: str | Sequence[str] | None = "services0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the loan, instalment and OAuth link tables."""
    op.create_table(
        "nebeus_oauth_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("oauth_uid", sa.String(length=200), nullable=False),
        sa.Column("created_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["nebeus_users.id"],
            name=op.f("fk_nebeus_oauth_links_user_id_nebeus_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_oauth_links")),
        sa.UniqueConstraint(
            "user_id", "provider", name=op.f("uq_nebeus_oauth_links_user_id_provider")
        ),
    )
    op.create_table(
        "nebeus_loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("collateral_amount", sa.BigInteger(), nullable=True),
        sa.Column("collateral_currency", sa.String(length=10), nullable=True),
        sa.Column("collateral_hold_id", sa.Integer(), nullable=True),
        sa.Column("funding_account_id", sa.Integer(), nullable=True),
        sa.Column("funding_hold_id", sa.Integer(), nullable=True),
        sa.Column("disbursement_posting_id", sa.Integer(), nullable=True),
        sa.Column("created_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("funded_at", understudy.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disbursed_at", understudy.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", understudy.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'funded', 'active', 'repaid', 'defaulted', 'cancelled')",
            name=op.f("ck_nebeus_loans_state_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_nebeus_loans_amount_positive")),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["nebeus_users.id"],
            name=op.f("fk_nebeus_loans_borrower_id_nebeus_users"),
        ),
        sa.ForeignKeyConstraint(
            ["collateral_hold_id"],
            ["ledger_holds.id"],
            name=op.f("fk_nebeus_loans_collateral_hold_id_ledger_holds"),
        ),
        sa.ForeignKeyConstraint(
            ["disbursement_posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_nebeus_loans_disbursement_posting_id_ledger_postings"),
        ),
        sa.ForeignKeyConstraint(
            ["funding_account_id"],
            ["nebeus_accounts.id"],
            name=op.f("fk_nebeus_loans_funding_account_id_nebeus_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["funding_hold_id"],
            ["ledger_holds.id"],
            name=op.f("fk_nebeus_loans_funding_hold_id_ledger_holds"),
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"], ["nebeus_users.id"], name=op.f("fk_nebeus_loans_lender_id_nebeus_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_loans")),
        sa.UniqueConstraint(
            "disbursement_posting_id", name=op.f("uq_nebeus_loans_disbursement_posting_id")
        ),
    )
    op.create_index(
        op.f("ix_nebeus_loans_borrower_id"), "nebeus_loans", ["borrower_id"], unique=False
    )
    op.create_index(op.f("ix_nebeus_loans_lender_id"), "nebeus_loans", ["lender_id"], unique=False)
    op.create_index(
        "ix_nebeus_loans_state_created", "nebeus_loans", ["state", "created_at"], unique=False
    )
    op.create_table(
        "nebeus_loan_instalments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=9), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("late_at", understudy.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_at", understudy.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("posting_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('scheduled', 'paid', 'late', 'defaulted')",
            name=op.f("ck_nebeus_loan_instalments_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["nebeus_loans.id"],
            name=op.f("fk_nebeus_loan_instalments_loan_id_nebeus_loans"),
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_nebeus_loan_instalments_posting_id_ledger_postings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_loan_instalments")),
        sa.UniqueConstraint(
            "loan_id", "number", name=op.f("uq_nebeus_loan_instalments_loan_id_number")
        ),
        sa.UniqueConstraint("posting_id", name=op.f("uq_nebeus_loan_instalments_posting_id")),
        sa.UniqueConstraint("ref", name=op.f("uq_nebeus_loan_instalments_ref")),
    )
    op.create_index(
        op.f("ix_nebeus_loan_instalments_loan_id"),
        "nebeus_loan_instalments",
        ["loan_id"],
        unique=False,
    )
    op.create_index(
        "ix_nebeus_loan_instalments_state_due",
        "nebeus_loan_instalments",
        ["state", "due_at"],
        unique=False,
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_nebeus_loan_instalments_state_due", table_name="nebeus_loan_instalments")
    op.drop_index(op.f("ix_nebeus_loan_instalments_loan_id"), table_name="nebeus_loan_instalments")
    op.drop_table("nebeus_loan_instalments")
    op.drop_index("ix_nebeus_loans_state_created", table_name="nebeus_loans")
    op.drop_index(op.f("ix_nebeus_loans_lender_id"), table_name="nebeus_loans")
    op.drop_index(op.f("ix_nebeus_loans_borrower_id"), table_name="nebeus_loans")
    op.drop_table("nebeus_loans")
    op.drop_table("nebeus_oauth_links")
