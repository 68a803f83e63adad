"""Wipe every service's data and seed reference data again."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from understudy.context import AppContext
from understudy.core.db import Base
from understudy.services import Service

# Installation-level rows a sandbox reset keeps: secrets, operator accounts and their audit log.
KERNEL_KEPT_TABLES = ("instance_secrets", "console_operators", "console_audit")


def seed_all(session: Session, ctx: AppContext, services: Iterable[Service]) -> None:
    """Run every service's idempotent seed (reference data and fixed rows)."""
    for service in services:
        if service.seed is not None:
            service.seed(session, ctx)


def _wipe_postgres(session: Session, names: list[str]) -> None:
    """Empty the tables and restart their sequences, children first.

    DELETE under an exclusive lock rather than TRUNCATE: TRUNCATE swaps every table's files and
    costs about a second for a few dozen small tables, DELETE of a few rows costs milliseconds.
    """
    quoted = ", ".join(f'"{name}"' for name in names)
    statements = [f"LOCK TABLE {quoted} IN ACCESS EXCLUSIVE MODE"]
    statements += [f'DELETE FROM "{name}"' for name in reversed(names)]
    sequences = session.scalars(
        text(
            "SELECT DISTINCT s.relname FROM pg_class s"
            " JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass"
            " JOIN pg_class t ON t.oid = d.refobjid"
            " WHERE s.relkind = 'S' AND t.relnamespace = current_schema()::regnamespace"
            " AND t.relname = ANY(:names)"
        ),
        {"names": names},
    ).all()
    statements += [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
    session.connection().exec_driver_sql("; ".join(statements))


def wipe_and_seed(ctx: AppContext, services: list[Service]) -> None:
    """Delete all rows (restarting id sequences) except kept tables, then seed, in one transaction.

    Every service's tables are wiped, enabled or not, so a reset always leaves a clean slate.
    """
    kept = set(KERNEL_KEPT_TABLES)
    for service in services:
        kept.update(service.kept_tables)
    tables = [t for t in Base.metadata.sorted_tables if t.name not in kept]
    with ctx.db.write() as session:
        if ctx.db.is_postgres:
            _wipe_postgres(session, [t.name for t in tables])
        else:
            for table in reversed(tables):
                session.execute(table.delete())
            has_sequences = session.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            ).first()
            if has_sequences:
                session.execute(text("DELETE FROM sqlite_sequence"))
        session.info.clear()  # forget the cached clock offset
        seed_all(session, ctx, services)
    ctx.limiter.reset()
