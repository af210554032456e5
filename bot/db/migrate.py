"""Versioned schema: Alembic, one history for both engines (``bot/db/migrations``).

:func:`upgrade` runs whenever a :class:`~bot.conversation.state.StateStore` opens (so at the
start of ``serve`` and ``chat`` and every command, as creating the schema always did) and from
``wegwijs db upgrade``. A database already at the head costs one query; Alembic's list of revisions is
read once per process (:func:`head`, which imports Alembic and SQLAlchemy: about 40 MiB), its
migration machinery runs only when there is something to do. A SQLite database made before Alembic (tables, no
``alembic_version``) is first brought to the baseline by :func:`bot.db.legacy.adopt` and
stamped, keeping every row.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.db.base import Database
from bot.db.target import DatabaseTarget

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class Status:
    engine: str
    where: str  # the file, or the URL with its password masked
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@lru_cache(maxsize=1)
def head() -> str:
    """The newest revision this version of Wegwijs knows."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found


def current(db: Database) -> str | None:
    """The revision the database is at (None: not under Alembic yet, or empty)."""
    if VERSION_TABLE not in db.tables():
        return None
    row = db.fetchone(f"SELECT version_num FROM {VERSION_TABLE}")
    return str(row[0]) if row else None


class _KeepOpen:
    """Our SQLite connection lent to SQLAlchemy, which must not close it (``:memory:``
    databases live only as long as this one connection)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


def _run(db: Database, target: DatabaseTarget, action: str, revision: str) -> None:
    import sqlalchemy as sa
    from alembic import command

    if target.is_postgres:
        engine = sa.create_engine(target.sqlalchemy_url, poolclass=sa.pool.NullPool)
    else:
        raw = db.connection  # type: ignore[attr-defined]
        engine = sa.create_engine(
            "sqlite://", creator=lambda: _KeepOpen(raw), poolclass=sa.pool.StaticPool
        )
    try:
        with engine.connect() as connection:
            config = _config()
            config.attributes["connection"] = connection
            if action == "stamp":
                command.stamp(config, revision)
            else:
                command.upgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()


def upgrade(db: Database, target: DatabaseTarget) -> str:
    """Bring the database to the head revision; returns it."""
    with db.lock:
        at = current(db)
        if at is not None and at == head():
            return at
        if at is None and target.engine == "sqlite" and db.tables() - {VERSION_TABLE}:
            from bot.db import legacy

            log.info("state database: made before versioned migrations; adopting it")
            legacy.adopt(db)  # type: ignore[arg-type]
            _run(db, target, "stamp", BASELINE)
        _run(db, target, "upgrade", "head")
        reached = current(db)
        log.info("state database (%s) at revision %s", target.engine, reached)
        return reached or head()


def status(db: Database, target: DatabaseTarget) -> Status:
    return Status(target.engine, target.shown(), current(db), head())
