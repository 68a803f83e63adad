"""console: indexes for the overview's per-day counts (orders and new members by created_at).

Revision ID: console0002
Revises: backoffice0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "console0002"
down_revision: str | Sequence[str] | None = "backoffice0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index fivesim orders and backoffice members by creation time."""
    with op.batch_alter_table("backoffice_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backoffice_users_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("fivesim_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fivesim_orders_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("fivesim_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fivesim_orders_created_at"))
    with op.batch_alter_table("backoffice_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backoffice_users_created_at"))
