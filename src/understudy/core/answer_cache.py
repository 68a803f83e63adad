"""Rendered answers kept while the SQLite database is unchanged: polls of the same state.

An entry is valid while no connection, of this process or another, has committed since it was
read (SQLite's `PRAGMA data_version`, asked on a connection of its own) and until its own
deadline (e.g. the next timer due on what it shows). Any commit anywhere empties the cache, so an
answer is never older than the data. Only on a SQLite file; elsewhere every lookup misses.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Hashable
from dataclasses import dataclass

from understudy.core.db import Database

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    body: bytes
    until: float  # wall-clock seconds (time.time()); math.inf = no deadline


class AnswerCache:
    """Answer bytes by key, dropped on any database commit or at their deadline."""

    def __init__(self, db: Database) -> None:
        self.enabled = db.inline
        self._path = db.url.database
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self._entries: dict[Hashable, _Entry] = {}

    def version(self) -> int | None:
        """The database's data version now (None when the cache is off)."""
        if not self.enabled:
            return None
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._entries.clear()
            self._version = version
        return version

    def get(self, key: Hashable, now: float) -> bytes | None:
        """The answer stored under key if nothing was committed since and its deadline is ahead."""
        if self.version() is None:
            return None
        entry = self._entries.get(key)
        if entry is None or now >= entry.until:
            return None
        return entry.body

    def put(
        self, key: Hashable, body: bytes, *, read_at: int | None, until: float = math.inf
    ) -> None:
        """Keep an answer read at data version `read_at`, unless something committed since."""
        if read_at is None or self.version() != read_at:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = _Entry(body, until)

    def close(self) -> None:
        """Close the version connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
