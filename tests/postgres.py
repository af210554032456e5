"""A real, throwaway PostgreSQL server for the tests: Debian's binaries, a temporary data
directory, a free port, and a fresh database per test.

PostgreSQL refuses to run as root, and the test machines run as root: the server then runs as
the ``postgres`` system user (``runuser``), with its files in a directory that user owns.
Nothing here is a fake: the bot talks to it over TCP as it would to a production server.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bot.nlu.server import free_port

DEBIAN_BIN = Path("/usr/lib/postgresql")


def binaries() -> Path | None:
    """The newest Debian PostgreSQL bin directory (or ``initdb`` on PATH), if any."""
    if DEBIAN_BIN.is_dir():
        versions = sorted(
            (p for p in DEBIAN_BIN.iterdir() if (p / "bin" / "initdb").exists()),
            key=lambda p: int(p.name) if p.name.isdigit() else 0,
        )
        if versions:
            return versions[-1] / "bin"
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresServer:
    """``initdb`` + ``pg_ctl start`` in a temporary directory; :meth:`stop` removes it all."""

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL is not installed (make test installs Debian's postgresql)"
            )
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="wegwijs-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self._names = itertools.count(1)
        self._upgraded = False
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def start(self) -> PostgresServer:
        # C locale: text compares byte by byte, as in SQLite (the schema asks for it too).
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        return self

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, *, empty: bool = False) -> str:
        """A fresh database; returns its URL. Unless ``empty``, it is a copy of one upgraded
        once to the newest schema (``CREATE DATABASE ... TEMPLATE``: much quicker than running
        the migrations for every test; an empty one shows that they run)."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        template = "template0" if empty else self._template()
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def _template(self) -> str:
        if not self._upgraded:
            from bot.db import open_database
            from bot.db.migrate import upgrade
            from bot.db.target import parse_target

            with psycopg.connect(self.admin_url, autocommit=True) as connection:
                connection.execute('CREATE DATABASE "wegwijs_template" TEMPLATE "template0"')
            target = parse_target(self.url("wegwijs_template"))
            db = open_database(target)
            try:
                upgrade(db, target)
            finally:
                db.close()
            self._upgraded = True
        return "wegwijs_template"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
