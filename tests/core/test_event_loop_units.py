"""Units of work run from the event loop: inline on a SQLite file, in a thread otherwise.

And the answer cache that rides on SQLite's data version.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from pathlib import Path

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from understudy.core.answer_cache import AnswerCache
from understudy.core.db import Database

THREAD = "thread"


def _sqlite(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'units.db'}")
    with db.write() as session:
        session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"))
    return db


def _insert(value: int):  # type: ignore[no-untyped-def]
    def unit(session: Session) -> str:
        session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": value})
        return threading.current_thread().name

    return unit


def _values(db: Database) -> list[int]:
    with db.read() as session:
        return list(session.scalars(text("SELECT v FROM t ORDER BY id")))


async def test_sqlite_units_run_on_the_event_loop_thread(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    loop_thread = threading.current_thread().name
    assert await db.run_write(_insert(1)) == loop_thread
    assert await db.run_read(lambda s: threading.current_thread().name) == loop_thread
    assert await db.run_write(_insert(2), inline=False) != loop_thread
    assert _values(db) == [1, 2]
    db.dispose()


async def test_a_write_waits_in_a_thread_while_another_process_holds_the_lock(
    tmp_path: Path,
) -> None:
    db = _sqlite(tmp_path)
    other = sqlite3.connect(tmp_path / "units.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's writer
    other.execute("INSERT INTO t (v) VALUES (0)")
    ticks = 0
    result: list[str] = []

    async def write() -> None:
        result.append(await db.run_write(_insert(1)))

    async def tick() -> None:
        nonlocal ticks
        while not result:
            ticks += 1
            await anyio.sleep(0.01)

    async def release() -> None:
        await anyio.sleep(0.3)
        other.execute("COMMIT")

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        tg.start_soon(write)
        tg.start_soon(release)
    # The loop kept running while the lock was held (the write waited in a worker thread),
    # and the write landed after the other writer's row.
    assert ticks >= 10
    assert result and result[0] != threading.current_thread().name
    assert _values(db) == [0, 1]
    other.close()
    db.dispose()


async def test_a_failing_inline_unit_rolls_back_and_frees_the_writer(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)

    def broken(session: Session) -> None:
        session.execute(text("INSERT INTO t (v) VALUES (9)"))
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await db.run_write(broken)
    await db.run_write(_insert(1))
    assert _values(db) == [1]
    db.dispose()


async def test_threads_and_the_loop_share_the_single_writer(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)

    def in_threads() -> None:
        for value in range(100, 150):
            with db.write() as session:
                session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": value})

    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, in_threads)
        tg.start_soon(anyio.to_thread.run_sync, in_threads)
        for value in range(50):
            await db.run_write(_insert(value))
            await anyio.sleep(0)
    values = _values(db)
    assert sorted(values) == sorted(list(range(50)) + 2 * list(range(100, 150)))
    db.dispose()


def test_answer_cache_drops_entries_on_any_commit(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    cache = AnswerCache(db)
    read_at = cache.version()
    cache.put("k", b"answer", read_at=read_at)
    assert cache.get("k", now=0) == b"answer"
    with db.write() as session:  # any commit, here by this process's own writer
        session.execute(text("INSERT INTO t (v) VALUES (1)"))
    assert cache.get("k", now=0) is None
    other = sqlite3.connect(tmp_path / "units.db", isolation_level=None)
    cache.put("k", b"again", read_at=cache.version())
    other.execute("INSERT INTO t (v) VALUES (2)")  # a commit by another process
    assert cache.get("k", now=0) is None
    other.close()
    cache.close()
    db.dispose()


def test_answer_cache_refuses_an_answer_read_before_a_commit(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    cache = AnswerCache(db)
    read_at = cache.version()
    with db.write() as session:
        session.execute(text("INSERT INTO t (v) VALUES (1)"))
    cache.put("k", b"stale", read_at=read_at)
    assert cache.get("k", now=0) is None
    cache.close()
    db.dispose()


def test_answer_cache_honours_deadlines(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    cache = AnswerCache(db)
    cache.put("soon", b"a", read_at=cache.version(), until=100.0)
    cache.put("never", b"b", read_at=cache.version(), until=math.inf)
    assert cache.get("soon", now=99.9) == b"a"
    assert cache.get("soon", now=100.0) is None
    assert cache.get("never", now=1e12) == b"b"
    cache.close()
    db.dispose()


def test_answer_cache_is_off_without_a_sqlite_file() -> None:
    db = Database("sqlite://")
    cache = AnswerCache(db)
    cache.put("k", b"answer", read_at=cache.version())
    assert cache.version() is None
    assert cache.get("k", now=0) is None
    db.dispose()
