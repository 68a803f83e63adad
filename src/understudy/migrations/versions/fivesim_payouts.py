"""fivesim: payouts under review (a withdrawal holds the vendor's earnings until an operator
approves or rejects it).

Revision ID: fivesim0004
Revises: console0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import understudy.core.db

revision: str = "fivesim0004"
down_revision: str | Sequence[str] | None = "console0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the payouts table and its indexes."""
    op.create_table(
        "fivesim_payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("receiver", sa.String(length=200), nullable=False),
        sa.Column("reserve", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", understudy.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_fivesim_payouts_state_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_fivesim_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["ledger_holds.id"], name=op.f("fk_fivesim_payouts_hold_id_ledger_holds")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["fivesim_users.id"],
            name=op.f("fk_fivesim_payouts_user_id_fivesim_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fivesim_payouts")),
        sa.UniqueConstraint("hold_id", name=op.f("uq_fivesim_payouts_hold_id")),
    )
    op.create_index("ix_fivesim_payouts_state_id", "fivesim_payouts", ["state", "id"])
    op.create_index(op.f("ix_fivesim_payouts_user_id"), "fivesim_payouts", ["user_id"])


def downgrade() -> None:
    """Drop the payouts table (pending payouts' holds stay in the ledger)."""
    op.drop_index(op.f("ix_fivesim_payouts_user_id"), table_name="fivesim_payouts")
    op.drop_index("ix_fivesim_payouts_state_id", table_name="fivesim_payouts")
    op.drop_table("fivesim_payouts")
