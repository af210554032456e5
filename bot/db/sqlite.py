"""SQLite, the default: one file in the data directory, one connection per process.

WAL lets readers and a writer work at once; ``busy_timeout`` makes a second process (``wegwijs
purge``, ``wegwijs desk``, a report) wait for a write lock instead of failing at once, and a
transaction starts ``BEGIN IMMEDIATE`` so two writers queue rather than deadlock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.db.base import Database, Params, Result, plain

BUSY_TIMEOUT_MS = 10_000


class SQLiteDatabase(Database):
    engine = "sqlite"

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.connection.row_factory = sqlite3.Row
        self.connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        # Erased rows are overwritten with zeros, not just unlinked: /forget means gone.
        self.connection.execute("PRAGMA secure_delete=ON")
        self._depth = 0

    def execute(self, sql: str, params: Params | None = None) -> Result:
        with self.lock:
            cursor = self.connection.execute(sql, plain(params))
            rows = cursor.fetchall()
            return Result(rows, cursor.rowcount)

    def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        with self.lock:
            return self.connection.executemany(sql, (plain(r) for r in rows)).rowcount

    def executescript(self, script: str) -> None:
        """SQLite only: a script of statements (the pre-Alembic schema, :mod:`bot.db.legacy`)."""
        with self.lock:
            self.connection.executescript(script)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self.connection.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self.connection.execute("ROLLBACK")
                raise
            self._depth = 0
            self.connection.execute("COMMIT")

    def tables(self) -> set[str]:
        rows = self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(r[0]) for r in rows}

    def columns(self, table: str) -> set[str]:
        return {str(r[1]) for r in self.fetchall(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        self.connection.close()
