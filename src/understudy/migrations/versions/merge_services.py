"""Merge the three services' first revisions into one line of history.

Revision ID: services0001
Revises: backoffice0001, fivesim0001, nebeus0001
"""

from collections.abc import Sequence

revision: str = "services0001"
down_revision: str | Sequence[str] | None = ("backoffice0001", "fivesim0001", "nebeus0001")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: this revision only joins the branches."""


def downgrade() -> None:
    """Nothing to change: this revision only joins the branches."""
