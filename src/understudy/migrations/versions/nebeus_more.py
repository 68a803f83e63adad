"""nebeus: identity and money follow-ups.

Revision ID: nebeus0004
Revises: fivesim0002
"""

from collections.abc import Sequence

revision: str = "nebeus0004"
down_revision: str | Sequence[str] | None = "fivesim0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
