"""Alembic environment: one history for the kernel and every service."""

from __future__ import annotations

from alembic import context

from understudy.core.db import Base, Database
from understudy.services import import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on a live connection (SQLite writes take the lock up front)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    db = Database(config.get_main_option("sqlalchemy.url") or "")
    try:
        with db.write_engine.connect() as conn:
            _run(conn)
    finally:
        db.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `understudy db upgrade`")
run_migrations_online()
