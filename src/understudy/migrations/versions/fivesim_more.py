"""fivesim: second slice (rates by period, vendor modem, ...).

Revision ID: fivesim0002
Revises: backoffice0002
"""

from collections.abc import Sequence

revision: str = "fivesim0002"
down_revision: str | Sequence[str] | None = "backoffice0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
