"""backoffice: second slice (pairs mode, ticket states, ...).

Revision ID: backoffice0002
Revises: nebeus0003
"""

from collections.abc import Sequence

revision: str = "backoffice0002"
down_revision: str | Sequence[str] | None = "nebeus0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
