"""backoffice: trigram indexes for member text search (PostgreSQL with pg_trgm only).

The console finds members by any part of their username, e-mail or full name (`LIKE '%text%'`),
which without these indexes reads the whole table. They are not in the models: they exist only
where `pg_trgm` could be enabled (it ships with PostgreSQL, but a role may lack the right to
enable it), and search answers the same without them, only slower. Their names end in `_trgm`,
which the model comparison skips (migrations/env.py).

Revision ID: backoffice0004
Revises: console0002
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "backoffice0004"
down_revision: str | Sequence[str] | None = "console0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)
# The name expression must read as the console's search writes it (console/backoffice/members.py).
INDEXES = {
    "ix_backoffice_users_username_trgm": "username_key",
    "ix_backoffice_users_email_trgm": "email_key",
    "ix_backoffice_users_name_trgm": "lower(first_name || ' ' || last_name)",
}


def upgrade() -> None:
    """Enable pg_trgm and index the searched texts; on SQLite, or without pg_trgm, nothing."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:  # not installed, or this role may not enable it
        cause = str(exc.orig).strip().splitlines()[0]
        log.warning("member search stays without trigram indexes: %s", cause)
        return
    for name, expression in INDEXES.items():
        bind.execute(
            sa.text(
                f"CREATE INDEX IF NOT EXISTS {name} ON backoffice_users "
                f"USING gin ({expression} gin_trgm_ops)"
            )
        )


def downgrade() -> None:
    """Drop the indexes (the extension stays: something else may use it)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
