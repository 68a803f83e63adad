"""fivesim: second slice (stock versions for the prices cache, the demo vendor's modem).

Revision ID: fivesim0002
Revises: backoffice0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fivesim0002"
down_revision: str | Sequence[str] | None = "backoffice0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A modem flag on users and the sharded stock-version counters."""
    with op.batch_alter_table("fivesim_users") as batch:
        batch.add_column(
            sa.Column("modem", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "fivesim_stock_versions",
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_fivesim_stock_versions")),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("fivesim_stock_versions")
    with op.batch_alter_table("fivesim_users") as batch:
        batch.drop_column("modem")
