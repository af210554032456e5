"""PostgreSQL through psycopg 3 and a connection pool, for several bot replicas on one database.

Outside a transaction a statement borrows a pooled connection (autocommit) and gives it back
at once; inside :meth:`PostgresDatabase.transaction` the thread keeps one connection until
the block ends. Rows are fetched before the connection goes back to the pool."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import BaseRowFactory
from psycopg_pool import ConnectionPool

from bot.db.base import Database, Params, Result, Row, plain
from bot.db.sql import to_pyformat


def _rows(cursor: psycopg.Cursor[Any]) -> Any:
    """psycopg row factory: :class:`Row` (by position and by name, like ``sqlite3.Row``)."""
    description = cursor.description
    if description is None:
        return None
    index = {column.name: i for i, column in enumerate(description)}

    def make(values: Sequence[Any]) -> Row:
        return Row(values, index)

    return make


ROW_FACTORY: BaseRowFactory[Row] = _rows  # type: ignore[assignment]


CONNECT_TIMEOUT = 10  # seconds


def pool_size() -> int:
    """``WEGWIJS_DATABASE_POOL`` connections at most per process (default 8)."""
    raw = os.environ.get("WEGWIJS_DATABASE_POOL", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else 8


class PostgresDatabase(Database):
    engine = "postgresql"

    def __init__(self, url: str, max_size: int | None = None) -> None:
        super().__init__()
        # One plain connection first: a wrong address or password fails at once with
        # psycopg's own error, instead of the pool retrying in the background until it
        # times out.
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT).close()
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size or pool_size(),
            kwargs={"autocommit": True, "row_factory": ROW_FACTORY},
            open=True,
            name="wegwijs-state",
        )
        try:
            self.pool.wait(timeout=30.0)
        except BaseException:
            self.pool.close()
            raise
        self._local = threading.local()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        pinned = getattr(self._local, "connection", None)
        if pinned is not None:
            yield pinned
            return
        with self.pool.connection() as connection:
            yield connection

    def execute(self, sql: str, params: Params | None = None) -> Result:
        with self._connection() as connection, connection.cursor() as cursor:
            cursor.execute(to_pyformat(sql), plain(params))  # type: ignore[arg-type]
            rows = cursor.fetchall() if cursor.description is not None else []
            return Result(rows, cursor.rowcount)

    def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        params = [plain(r) for r in rows]
        if not params:
            return 0
        with self._connection() as connection, connection.cursor() as cursor:
            cursor.executemany(to_pyformat(sql), params)  # type: ignore[arg-type]
            return cursor.rowcount

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        if getattr(self._local, "connection", None) is not None:
            yield self  # nested: part of the outer transaction
            return
        with self.lock, self.pool.connection() as connection:
            self._local.connection = connection
            try:
                with connection.transaction():
                    yield self
            finally:
                self._local.connection = None

    def tables(self) -> set[str]:
        rows = self.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {str(r[0]) for r in rows}

    def close(self) -> None:
        self.pool.close()
