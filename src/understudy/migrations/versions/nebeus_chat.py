"""nebeus: instant messaging (im_chat) sessions, members and messages.

Revision ID: nebeus0003
Revises: nebeus0002
"""

from collections.abc import Sequence

revision: str = "nebeus0003"
down_revision: str | Sequence[str] | None = "nebeus0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
