"""Bulk organisations for benchmarks: N members written set-wise (COPY on PostgreSQL).

The trees are computed in memory with the engines' own rules (outer spillover on each
sponsor's default leg, breadth-first 3-wide matrix), then written with exact aggregates:
leg counts, closure rows, `open_level`, direct counts. Every member holds the Free Plan, so
no commission is owed; each sponsor gets its `Sponsored Plan - Free Plan` 0.0 wallet rows.
Meant for a freshly reset database (only `admin`, id 1). On PostgreSQL the rows go in as
COPY text, without per-row foreign-key triggers when the role may skip them (the rows are
consistent by construction), the closure's indexes are rebuilt after its load, and the tables
are vacuumed and analysed afterwards: 1,000,000 members (18.8 M closure rows) take about
four minutes. `understudy backoffice bulk-load` runs it with progress lines.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint

from understudy.backoffice.models import (
    BinaryNode,
    MatrixNode,
    Member,
    Plan,
    Purchase,
    SponsorClosure,
    WalletEntry,
)
from understudy.backoffice.reference import FREE_PLAN
from understudy.backoffice.settings import get_settings
from understudy.core.passwords import hash_password

CHUNK = 20_000
COPY_CHUNK = 50_000
PROGRESS_EVERY = 2_000_000
Progress = Callable[[str], None]
COUNTRIES = ("US", "MX", "CO", "NI", "ES", "PE", "AR", "GT", "PH", "VN")


@dataclass
class Organisation:
    """The generated shape: per member (index = id) sponsor, binary and matrix positions."""

    size: int
    sponsor: list[int]
    leg: list[str]
    bin_parent: list[int]
    bin_side: list[str]
    sponsor_side: list[str]
    mat_parent: list[int]
    mat_slot: list[int]
    open_level: list[int]


def shape(size: int, *, seed: int = 1, right_share: float = 0.5, width: int = 3) -> Organisation:
    """Sponsor tree, binary and matrix placements in memory.

    Half the members are recruited by anyone (a random recursive tree, depth ~ ln N), half by
    the newer half of the organisation: sponsor depth stays ~14 on average while outer
    spillover makes binary lines hundreds deep (438 at 100k members).
    """
    rng = random.Random(seed)
    total = size + 2  # index 0 unused, 1 = admin
    sponsor = [0] * total
    leg = ["left"] * total
    bin_parent, bin_side, sponsor_side = [0] * total, [""] * total, [""] * total
    child = {"left": [0] * total, "right": [0] * total}
    tail = {"left": list(range(total)), "right": list(range(total))}
    mat_parent, mat_slot = [0] * total, [0] * total
    kids: list[list[int]] = [[] for _ in range(total)]
    open_level = [0] * total
    for user in range(2, total):
        low = 1 if rng.random() < 0.5 else max(1, user // 2)
        sponsor[user] = s = rng.randint(low, user - 1)
        leg[user] = "right" if rng.random() < right_share else "left"
        side = leg[s]
        # Outer spillover: the bottom of the sponsor's line on that side (cached tails).
        bottom = tail[side][s]
        while child[side][bottom]:
            bottom = child[side][bottom]
        tail[side][s] = bottom
        child[side][bottom] = user
        bin_parent[user], bin_side[user], sponsor_side[user] = bottom, side, side
        # Matrix: breadth-first under the sponsor along open_level.
        node = s
        while len(kids[node]) >= width:
            nearest = min(open_level[k] for k in kids[node])
            node = next(k for k in kids[node] if open_level[k] == nearest)
        mat_parent[user], mat_slot[user] = node, len(kids[node])
        kids[node].append(user)
        while node:
            level = 0 if len(kids[node]) < width else 1 + min(open_level[k] for k in kids[node])
            if level == open_level[node]:
                break
            open_level[node] = level
            node = mat_parent[node]
    return Organisation(
        size, sponsor, leg, bin_parent, bin_side, sponsor_side, mat_parent, mat_slot, open_level
    )


def binary_depth(org: Organisation) -> int:
    """The deepest binary level (root 0)."""
    depth = [0] * len(org.sponsor)
    for user in range(2, len(org.sponsor)):
        depth[user] = depth[org.bin_parent[user]] + 1
    return max(depth)


def load(
    session: Session,
    org: Organisation,
    *,
    now: datetime,
    password: str,
    progress: Progress | None = None,
) -> None:
    """Write the organisation under admin (ids 2..N+1) in the caller's transaction."""
    say = progress or (lambda _message: None)
    total = org.size + 2
    free = session.scalars(select(Plan).where(Plan.name == FREE_PLAN)).one()
    hashed = hash_password(password)
    left, right = [0] * total, [0] * total
    for user in range(total - 1, 1, -1):
        below = 1 + left[user] + right[user]
        if org.bin_side[user] == "left":
            left[org.bin_parent[user]] += below
        else:
            right[org.bin_parent[user]] += below
    directs = [0] * total
    for user in range(2, total):
        directs[org.sponsor[user]] += 1
    start = now - timedelta(days=7)
    step = timedelta(days=7) / total
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        _fast_session(session)

    def members() -> Iterator[tuple[Any, ...]]:
        for user in range(2, total):
            name = f"bulk{user}"
            yield (
                user, name, name, f"{name}@bulk.example", f"{name}@bulk.example", "Bulk",
                str(user), "1", COUNTRIES[user % len(COUNTRIES)], hashed, "en", org.leg[user],
                False, org.sponsor[user], "placed", directs[user], 0, start + step * user,
            )  # fmt: skip

    member_table: Table = Member.__table__  # type: ignore[assignment]
    with _unmodelled_indexes_rebuilt(session, member_table, say):
        _write(session, member_table, MEMBER_COLUMNS, members(), say)

    def closure() -> Iterator[tuple[int, int, int]]:
        sponsor = org.sponsor
        for user in range(2, total):
            up, depth = user, 0
            while up:
                yield (up, user, depth)
                up, depth = sponsor[up], depth + 1

    closure_table: Table = SponsorClosure.__table__  # type: ignore[assignment]
    with _indexes_rebuilt(session, closure_table, say):
        _write(session, closure_table, ["ancestor_id", "descendant_id", "depth"], closure(), say)
    _write(
        session,
        BinaryNode.__table__,  # type: ignore[arg-type]
        BINARY_COLUMNS,
        (
            (u, org.bin_parent[u], org.bin_side[u], org.sponsor_side[u], left[u], right[u])
            + (0,) * 7
            for u in range(2, total)
        ),
        say,
    )
    open_level = org.open_level
    _write(
        session,
        MatrixNode.__table__,  # type: ignore[arg-type]
        ["user_id", "parent_id", "slot", "open_level"],
        ((u, org.mat_parent[u], org.mat_slot[u], open_level[u]) for u in range(2, total)),
        say,
    )
    first_purchase = (session.scalar(select(func.max(Purchase.id))) or 0) + 1
    _write(
        session,
        Purchase.__table__,  # type: ignore[arg-type]
        ["id", "user_id", "plan_id", "price", "bv", "created_at"],
        ((first_purchase + u - 2, u, free.id, 0, 0, start + step * u) for u in range(2, total)),
        say,
    )
    first_entry = (session.scalar(select(func.max(WalletEntry.id))) or 0) + 1
    wallet = get_settings().purchase_wallet
    description = f"Sponsored Plan - {FREE_PLAN}"
    _write(
        session,
        WalletEntry.__table__,  # type: ignore[arg-type]
        ["id", "user_id", "wallet_id", "amount", "balance", "description", "created_at"],
        (
            (first_entry + u - 2, org.sponsor[u], wallet, 0, 0, description, start + step * u)
            for u in range(2, total)
        ),
        say,
    )
    session.execute(
        update(BinaryNode)
        .where(BinaryNode.user_id == 1)
        .values(left_count=left[1], right_count=right[1])
    )
    session.execute(
        update(MatrixNode).where(MatrixNode.user_id == 1).values(open_level=open_level[1])
    )
    session.execute(update(Member).where(Member.id == 1).values(direct_count=directs[1]))
    if postgres:
        for table, column in (
            ("backoffice_users", "id"),
            ("backoffice_purchases", "id"),
            ("backoffice_wallet_entries", "id"),
        ):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"(SELECT max({column}) FROM {table}))"
                )
            )


MEMBER_COLUMNS = [
    "id",
    "username",
    "username_key",
    "email",
    "email_key",
    "first_name",
    "last_name",
    "mobile",
    "country_code",
    "password_hash",
    "language",
    "default_leg",
    "request_token_on_edit",
    "sponsor_id",
    "binary_state",
    "direct_count",
    "active_direct_count",
    "created_at",
]
BINARY_COLUMNS = [
    "user_id",
    "parent_id",
    "position",
    "sponsor_side",
    "left_count",
    "right_count",
    "vol_new_left",
    "vol_new_right",
    "carry_left",
    "carry_right",
    "active_directs_left",
    "active_directs_right",
    "pairs_paid",
]
BIG_TABLES = (
    "backoffice_users",
    "backoffice_sponsor_closure",
    "backoffice_binary_nodes",
    "backoffice_matrix_nodes",
    "backoffice_purchases",
    "backoffice_wallet_entries",
)


def _fast_session(session: Session) -> None:
    """PostgreSQL: no per-row foreign-key triggers (superusers only) and more sort memory.

    The rows are generated consistent, and the load runs on a freshly reset database.
    """
    session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    superuser = session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
    if superuser:
        session.execute(text("SET LOCAL session_replication_role = replica"))


@contextmanager
def _indexes_rebuilt(session: Session, table: Table, say: Progress) -> Iterator[None]:
    """PostgreSQL: drop a table's primary key and indexes around a bulk load, then rebuild."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    connection = session.connection()
    pk = table.primary_key
    connection.execute(text(f'ALTER TABLE {table.name} DROP CONSTRAINT "{pk.name}"'))
    for index in table.indexes:
        connection.execute(text(f'DROP INDEX "{index.name}"'))
    yield
    started = time.perf_counter()
    connection.execute(AddConstraint(pk))
    for index in table.indexes:
        index.create(connection)
    say(f"{table.name}: indexes rebuilt in {time.perf_counter() - started:.1f} s")


@contextmanager
def _unmodelled_indexes_rebuilt(session: Session, table: Table, say: Progress) -> Iterator[None]:
    """PostgreSQL: drop the indexes the models do not declare (backoffice0004's trigram ones)
    around a bulk load, then rebuild them as they were."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    connection = session.connection()
    modelled = {index.name for index in table.indexes}
    found = connection.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :table "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ),
        {"table": table.name},
    )
    extra = [(name, definition) for name, definition in found if name not in modelled]
    for name, _ in extra:
        connection.execute(text(f'DROP INDEX "{name}"'))
    yield
    if extra:
        started = time.perf_counter()
        for _, definition in extra:
            connection.execute(text(definition))
        took = time.perf_counter() - started
        say(f"{table.name}: {len(extra)} unmodelled indexes rebuilt in {took:.1f} s")


def _write(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    say: Progress,
) -> None:
    """COPY (text chunks) on PostgreSQL, chunked executemany elsewhere; reports progress."""
    connection = session.connection()
    started = time.perf_counter()
    count = 0
    if connection.dialect.name == "postgresql":
        raw = connection.connection.dbapi_connection
        assert raw is not None
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for batch in _batches(rows, COPY_CHUNK):
                copy.write("".join(_copy_line(row) for row in batch))
                count += len(batch)
                if count % PROGRESS_EVERY < COPY_CHUNK:
                    say(f"{table.name}: {count:,} rows, {time.perf_counter() - started:.1f} s")
    else:
        for batch in _batches(rows, CHUNK):
            connection.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in batch])
            count += len(batch)
    say(f"{table.name}: {count:,} rows written in {time.perf_counter() - started:.1f} s")


def _batches(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _copy_line(row: tuple[Any, ...]) -> str:
    """One row in COPY's text format (the generated values hold no tab, newline or backslash)."""
    return "\t".join(r"\N" if v is None else str(v) for v in row) + "\n"


def ensure(
    db_url: str,
    size: int,
    *,
    reset: Callable[[], Any],
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Make the database hold the bulk organisation of `size` (reusing one already there).

    `reset()` wipes the database first (the sandbox reset call) when a load is needed.
    Returns what was done: sizes, binary depth and load seconds.
    """
    from understudy.config import Settings
    from understudy.context import AppContext

    say = progress or (lambda _message: None)
    ctx = AppContext.from_settings(Settings(database_url=db_url, _env_file=None))  # type: ignore[call-arg]
    try:
        with ctx.db.read() as session:
            last = session.scalar(select(Member.id).where(Member.username_key == f"bulk{size + 1}"))
            beyond = session.scalar(
                select(Member.id).where(Member.username_key == f"bulk{size + 2}")
            )
        started = time.perf_counter()
        org = shape(size)
        shaped = time.perf_counter() - started
        depth = binary_depth(org)
        if last is not None and beyond is None:
            return {"members": size + 1, "reused": True, "binary_depth": depth}
        say(f"shaped {size:,} members in {shaped:.1f} s (binary depth {depth}); resetting")
        reset()
        started = time.perf_counter()
        with ctx.db.write() as session:
            load(session, org, now=now or ctx.now(session), password="bench1234", progress=say)
        if ctx.db.is_postgres:
            _vacuum(ctx.db.write_engine, say)
        return {
            "members": size + 1,
            "reused": False,
            "binary_depth": depth,
            "shape_s": round(shaped, 1),
            "load_s": round(time.perf_counter() - started, 1),
        }
    finally:
        ctx.close()


def _vacuum(engine: Any, say: Progress) -> None:
    """VACUUM ANALYZE the loaded tables: statistics, and a visibility map for index-only scans."""
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in BIG_TABLES:
            connection.execute(text(f"VACUUM ANALYZE {table}"))
    say(f"vacuum analyze: {time.perf_counter() - started:.1f} s")
