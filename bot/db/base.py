"""The one shape every store uses, whichever engine is behind it.

A :class:`Database` runs a statement and returns a :class:`Result` whose rows are already
fetched (so no cursor outlives its connection, which a pool needs), each a :class:`Row` that
reads by position and by name like ``sqlite3.Row``. :meth:`Database.transaction` groups
statements; outside one, every statement commits on its own, as SQLite's autocommit did.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

Params = Sequence[Any]


class Row(tuple[Any, ...]):
    """A result row: ``row[0]`` and ``row["column"]``, ``row.keys()``; unpacks like a tuple."""

    _index: dict[str, int]

    def __new__(cls, values: Iterable[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


class Result:
    """What a statement gave: its rows (fetched) and how many rows it changed."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def scalar(self) -> Any:
        """The first column of the first row (None without a row)."""
        return self.rows[0][0] if self.rows else None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


def plain(params: Params | None) -> tuple[Any, ...]:
    """Parameters as both engines store them: a bool is 0 or 1 (the flag columns are
    integers, which PostgreSQL will not fill from a boolean)."""
    if not params:
        return ()
    return tuple(int(p) if isinstance(p, bool) else p for p in params)


class Database(ABC):
    """The state database. ``lock`` is held by a store around the statements it runs together
    (re-entrant, so a transaction may be opened inside it)."""

    engine: str  # sqlite or postgresql

    def __init__(self) -> None:
        self.lock = threading.RLock()

    @abstractmethod
    def execute(self, sql: str, params: Params | None = None) -> Result:
        """Run one statement (``?`` placeholders) and fetch what it returns."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement for each parameter row; returns the rows changed."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Database]:
        """All or nothing: commits when the block ends, rolls back if it raises. Nested
        blocks join the outer one."""

    def fetchone(self, sql: str, params: Params | None = None) -> Any | None:
        return self.execute(sql, params).fetchone()

    def fetchall(self, sql: str, params: Params | None = None) -> list[Any]:
        return self.execute(sql, params).rows

    def scalar(self, sql: str, params: Params | None = None) -> Any:
        return self.execute(sql, params).scalar()

    def insert(self, sql: str, params: Params | None = None) -> int:
        """An ``INSERT ... RETURNING id``: the new row's id."""
        row = self.execute(sql, params).fetchone()
        assert row is not None, "insert() needs RETURNING id"
        return int(row[0])

    @abstractmethod
    def tables(self) -> set[str]:
        """The names of the tables in the database (to see what an old version made)."""

    @abstractmethod
    def close(self) -> None: ...
