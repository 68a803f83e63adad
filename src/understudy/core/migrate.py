"""Alembic, driven programmatically: upgrade, current revision, drift check, new revisions."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from understudy.core.db import Database


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and this database."""
    config = Config()
    config.set_main_option("script_location", str(files("understudy").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", str(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations up to revision (every branch head by default)."""
    command.upgrade(alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    """The newest revision of the packaged history."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(url: str) -> str | None:
    """The revision the database is at (None when never migrated)."""
    db = Database(url)
    try:
        with db.read_engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        db.dispose()


def check(url: str) -> None:
    """Raise alembic.util.CommandError when the models differ from the migrated schema."""
    command.check(alembic_config(url))


def revision(url: str, message: str) -> None:
    """Autogenerate a new revision from the models (developers only)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
