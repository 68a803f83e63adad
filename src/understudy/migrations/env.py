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


def _modelled(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """Whether the comparison with the models covers it: not the optional trigram indexes
    (`*_trgm`, made by backoffice0004 only where pg_trgm is available)."""
    return not (type_ == "index" and reflected and compare_to is None and name.endswith("_trgm"))


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_modelled,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `understudy db upgrade`")
run_migrations_online()
