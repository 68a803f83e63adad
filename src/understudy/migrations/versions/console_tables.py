"""console: operator accounts and the audit log.

Revision ID: console0001
Revises: fivesim0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import understudy.core.db

revision: str = "console0001"
down_revision: str | Sequence[str] | None = "fivesim0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the operators and audit tables."""
    op.create_table(
        "console_operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("username_key", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "password_changed_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_operators")),
        sa.UniqueConstraint("username_key", name=op.f("uq_console_operators_username_key")),
    )
    op.create_table(
        "console_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["console_operators.id"],
            name=op.f("fk_console_audit_operator_id_console_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_audit")),
    )
    op.create_index(
        op.f("ix_console_audit_operator_id"), "console_audit", ["operator_id"], unique=False
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_index(op.f("ix_console_audit_operator_id"), table_name="console_audit")
    op.drop_table("console_audit")
    op.drop_table("console_operators")
