"""One migration history that upgrades an empty database and matches the models (no drift)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import throwaway_pg_database
from understudy.core import migrate


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database of the kind this run uses."""
    server = os.environ.get("UNDERSTUDY_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with throwaway_pg_database(server, "understudy_mig") as url:
        yield url


def test_upgrade_from_empty_reaches_head_without_drift(empty_database_url: str) -> None:
    assert migrate.current_revision(empty_database_url) is None
    migrate.upgrade(empty_database_url)
    head = migrate.head_revision(empty_database_url)
    assert head is not None
    assert migrate.current_revision(empty_database_url) == head
    migrate.check(empty_database_url)  # raises on any difference between models and schema
    migrate.upgrade(empty_database_url)  # idempotent
    assert migrate.current_revision(empty_database_url) == head


def test_history_is_linear(database_url: str) -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config(database_url))
    assert len(script.get_heads()) == 1
    bases = script.get_bases()
    assert len(bases) == 1
