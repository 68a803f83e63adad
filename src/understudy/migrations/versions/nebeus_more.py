"""nebeus: identity and money follow-ups (failed sign-ins counted in the database).

Revision ID: nebeus0004
Revises: fivesim0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import understudy.core.db

revision: str = "nebeus0004"
down_revision: str | Sequence[str] | None = "fivesim0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the failed sign-in log."""
    op.create_table(
        "nebeus_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=320), nullable=False),
        sa.Column("at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_login_failures")),
    )
    with op.batch_alter_table("nebeus_login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_nebeus_login_failures_login_at", ["login", "at"], unique=False)


def downgrade() -> None:
    """Drop the failed sign-in log."""
    with op.batch_alter_table("nebeus_login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_nebeus_login_failures_login_at")
    op.drop_table("nebeus_login_failures")
