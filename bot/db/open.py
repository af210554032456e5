"""Open the state database for a target (a SQLite path or a PostgreSQL URL)."""

from __future__ import annotations

from pathlib import Path

from bot.db.base import Database
from bot.db.target import DatabaseTarget, parse_target


def open_database(where: DatabaseTarget | Path | str) -> Database:
    """Connect (no schema change: see :func:`bot.db.migrate.upgrade`)."""
    target = where if isinstance(where, DatabaseTarget) else parse_target(where)
    if target.is_postgres:
        from bot.db.postgres import PostgresDatabase

        return PostgresDatabase(target.libpq_url)
    from bot.db.sqlite import SQLiteDatabase

    return SQLiteDatabase(target.location)
