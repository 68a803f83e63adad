"""PostgreSQL: member text search runs on the trigram indexes of migration backoffice0004, and a
database whose role may not enable pg_trgm migrates without them (search answers the same)."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from starlette.requests import Request

from tests.conftest import throwaway_pg_database
from understudy.bootstrap import prepare
from understudy.config import Settings
from understudy.console.backoffice.members import search
from understudy.console.pages import Pager
from understudy.context import AppContext
from understudy.core import migrate

TRIGRAM = {
    "ix_backoffice_users_username_trgm",
    "ix_backoffice_users_email_trgm",
    "ix_backoffice_users_name_trgm",
}
pytestmark = pytest.mark.skipif(
    not os.environ.get("UNDERSTUDY_TEST_DATABASE_URL"),
    reason="pg_trgm indexes are PostgreSQL's; set UNDERSTUDY_TEST_DATABASE_URL",
)


def _pager(q: str) -> Pager:
    query = f"q={q}".encode()
    return Pager(Request({"type": "http", "method": "GET", "path": "/", "query_string": query}))


def _trigram_indexes(session: Session) -> set[str]:
    names = session.scalars(
        text("SELECT indexname FROM pg_indexes WHERE tablename = 'backoffice_users'")
    )
    return {n for n in names if n.endswith("_trgm")}


def test_the_search_query_can_use_every_trigram_index(ctx: AppContext) -> None:
    """The expressions the search writes match the indexed ones (a bound space would not)."""
    plans: list[str] = []
    with ctx.db.write() as session:
        assert _trigram_indexes(session) == TRIGRAM
        session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: force the choice
        session.execute(text("SET LOCAL enable_indexscan = off"))  # not the primary key's walk

        @event.listens_for(session.connection(), "before_cursor_execute", retval=True)
        def explain(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            if "count(*) OVER ()" in statement and not plans:
                # A literal space: once psycopg prepares the statement, PostgreSQL may plan it
                # without the parameters' values, and `|| $1 ||` would match no index.
                assert "first_name || ' ' || backoffice_users.last_name" in statement
                cursor.execute("EXPLAIN " + statement, parameters)
                plans.extend(row[0] for row in cursor.fetchall())
            return statement, parameters

        rows, capped = search(session, _pager("adm"), sponsor_id=None)
    assert [r["username"] for r in rows] == ["admin"] and not capped
    plan = "\n".join(plans)
    for name in TRIGRAM:
        assert name in plan, plan


@pytest.fixture
def restricted_url() -> Iterator[str]:
    """An empty database where a login role may create tables but not enable extensions."""
    server = os.environ["UNDERSTUDY_TEST_DATABASE_URL"]
    role = f"understudy_noext_{secrets.token_hex(4)}"
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with throwaway_pg_database(server, "understudy_noext") as url:
        database = make_url(url).database
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
        with psycopg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        ) as conn:
            conn.execute(f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}"')
        try:
            yield (
                make_url(url)
                .set(username=role, password=None)
                .render_as_string(hide_password=False)
            )
        finally:  # the role owns the tables: drop its database before the role
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_without_pg_trgm_the_migration_goes_on_and_search_still_answers(
    restricted_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        migrate.upgrade(restricted_url)
    assert migrate.current_revision(restricted_url) == migrate.head_revision(restricted_url)
    assert "member search stays without trigram indexes" in caplog.text
    migrate.check(restricted_url)  # no drift either way
    prepare(Settings(database_url=restricted_url, services="backoffice"))  # seeds `admin`
    engine = create_engine(make_url(restricted_url).set(drivername="postgresql+psycopg"))
    try:
        with Session(engine) as session:
            assert _trigram_indexes(session) == set()
            rows, _ = search(session, _pager("adm"), sponsor_id=None)
        assert [r["username"] for r in rows] == ["admin"]
    finally:
        engine.dispose()
