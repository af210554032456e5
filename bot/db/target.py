"""Where the state lives: a SQLite file or a PostgreSQL URL, and how to name it safely."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ENV = "WEGWIJS_DATABASE_URL"
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class DatabaseConfigError(ValueError):
    """WEGWIJS_DATABASE_URL (or a given location) cannot be used."""


@dataclass(frozen=True)
class DatabaseTarget:
    """A SQLite file (``path``; ``":memory:"`` for tests) or a PostgreSQL ``url``."""

    engine: str  # sqlite or postgresql
    location: str  # the file path, or the libpq URL (with its password: never print it)

    @property
    def is_postgres(self) -> bool:
        return self.engine == "postgresql"

    def shown(self) -> str:
        """For logs and ``wegwijs db status``: the password masked."""
        return mask_url(self.location) if self.is_postgres else self.location

    @property
    def libpq_url(self) -> str:
        """The URL psycopg takes (no SQLAlchemy driver suffix)."""
        scheme, rest = self.location.split("://", 1)
        return f"postgresql://{rest}" if scheme != "postgresql" else self.location

    @property
    def sqlalchemy_url(self) -> str:
        """The URL Alembic's SQLAlchemy engine takes (psycopg 3 driver, or pysqlite)."""
        if self.is_postgres:
            return "postgresql+psycopg://" + self.location.split("://", 1)[1]
        return f"sqlite:///{self.location}"

    def __repr__(self) -> str:  # never print a password
        return f"DatabaseTarget({self.engine}, {self.shown()!r})"


def parse_target(where: Path | str) -> DatabaseTarget:
    """A path is a SQLite file; a ``postgresql://`` URL is PostgreSQL."""
    text = str(where)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in POSTGRES_SCHEMES:
        return DatabaseTarget("postgresql", text)
    if scheme:
        raise DatabaseConfigError(
            f"{ENV}: only postgresql://user:password@host:port/database URLs are supported "
            f"(got a {scheme}:// URL); leave it unset for SQLite"
        )
    return DatabaseTarget("sqlite", text)


def database_target(sqlite_path: Path | str | None = None) -> DatabaseTarget:
    """``WEGWIJS_DATABASE_URL`` when set, else the SQLite file (``bot.paths.state_db_path``)."""
    url = os.environ.get(ENV, "").strip()
    if url:
        return parse_target(url)
    if sqlite_path is None:
        from bot.paths import state_db_path

        sqlite_path = state_db_path()
    return DatabaseTarget("sqlite", str(sqlite_path))


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (also a ``password=`` query parameter)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in creds else f"{user}@{host}"
    query = "&".join(
        f"{k}=***" if k.lower() == "password" else f"{k}={v}" if v or k else ""
        for k, _, v in (p.partition("=") for p in parts.query.split("&") if p)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
