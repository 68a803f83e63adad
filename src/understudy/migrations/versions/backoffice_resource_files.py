"""backoffice: resource files uploaded in the console.

Revision ID: backoffice0003
Revises: fivesim0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import understudy.core.db

revision: str = "backoffice0003"
down_revision: str | Sequence[str] | None = "fivesim0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The table of uploaded resource files."""
    op.create_table(
        "backoffice_resource_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backoffice_resource_files")),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("backoffice_resource_files")
