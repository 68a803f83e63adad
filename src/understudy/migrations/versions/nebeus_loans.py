"""nebeus: P2P loans and their instalment schedules.

Revision ID: nebeus0002
Revises: services0001
"""

from collections.abc import Sequence

revision: str = "nebeus0002"
down_revision: str | Sequence[str] | None = "services0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
