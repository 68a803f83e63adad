"""fivesim: free stock kept as counters (idle numbers per operator, used-up ones per product),
and orders indexed by number and product.

Revision ID: fivesim0003
Revises: nebeus0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fivesim0003"
down_revision: str | Sequence[str] | None = "nebeus0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDLE = "NOT EXISTS (SELECT 1 FROM fivesim_orders a WHERE a.active_number_id = n.id)"


def upgrade() -> None:
    """The counters, filled from the numbers and orders already there; the orders index."""
    op.create_index("ix_fivesim_orders_number_product", "fivesim_orders", ["number_id", "product"])
    op.drop_index("ix_fivesim_orders_number_id", table_name="fivesim_orders")
    with op.batch_alter_table("fivesim_operators") as batch:
        batch.add_column(
            sa.Column("free_numbers", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "fivesim_used_stock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=50), nullable=False),
        sa.Column("operator", sa.String(length=50), nullable=False),
        sa.Column("product", sa.String(length=50), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fivesim_used_stock")),
        sa.UniqueConstraint(
            "country",
            "operator",
            "product",
            name=op.f("uq_fivesim_used_stock_country_operator_product"),
        ),
    )
    op.execute(
        "UPDATE fivesim_operators SET free_numbers = (SELECT count(*) FROM fivesim_numbers n "
        "WHERE n.country = fivesim_operators.country AND n.operator = fivesim_operators.name "
        f"AND {IDLE})"
    )
    op.execute(
        "INSERT INTO fivesim_used_stock (country, operator, product, count) "
        "SELECT n.country, n.operator, u.product, count(DISTINCT n.id) "
        "FROM fivesim_numbers n JOIN fivesim_orders u ON u.number_id = n.id "
        f"WHERE u.status IN ('FINISHED', 'BANNED') AND {IDLE} "
        "GROUP BY n.country, n.operator, u.product"
    )


def downgrade() -> None:
    """Drop them again."""
    op.create_index("ix_fivesim_orders_number_id", "fivesim_orders", ["number_id"])
    op.drop_index("ix_fivesim_orders_number_product", table_name="fivesim_orders")
    op.drop_table("fivesim_used_stock")
    with op.batch_alter_table("fivesim_operators") as batch:
        batch.drop_column("free_numbers")
