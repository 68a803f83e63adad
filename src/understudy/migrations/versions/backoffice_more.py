"""backoffice: second slice (binary pairs mode, closure depth index).

Revision ID: backoffice0002
Revises: nebeus0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "backoffice0002"
down_revision: str | Sequence[str] | None = "nebeus0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Plan fields of BINARY_MODE=pairs, pairs paid per binary node, a closure depth index."""
    with op.batch_alter_table("backoffice_plans") as batch:
        batch.add_column(
            sa.Column("pair_left", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("pair_right", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("pair_value", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("first_pair", sa.String(length=3), server_default="1:1", nullable=False)
        )
    # The seeded plan's pairs (contract §6: 50 BV a side pays 5.0), as a fresh seed writes them.
    op.execute(
        "UPDATE backoffice_plans SET pair_left = 5000, pair_right = 5000, pair_value = 500 "
        "WHERE name = 'Entrepreneur' AND pair_value = 0"
    )
    with op.batch_alter_table("backoffice_binary_nodes") as batch:
        batch.add_column(sa.Column("pairs_paid", sa.Integer(), server_default="0", nullable=False))
    op.create_index(
        "ix_backoffice_sponsor_closure_ancestor_depth",
        "backoffice_sponsor_closure",
        ["ancestor_id", "depth"],
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index(
        "ix_backoffice_sponsor_closure_ancestor_depth", table_name="backoffice_sponsor_closure"
    )
    with op.batch_alter_table("backoffice_binary_nodes") as batch:
        batch.drop_column("pairs_paid")
    with op.batch_alter_table("backoffice_plans") as batch:
        for name in ("first_pair", "pair_value", "pair_right", "pair_left"):
            batch.drop_column(name)
