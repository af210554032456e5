"""``wegwijs db upgrade`` and ``wegwijs db status``: the state database's schema version."""

from __future__ import annotations

import click


def _open():  # type: ignore[no-untyped-def]
    from bot.db import database_target, open_database
    from bot.db.target import DatabaseConfigError

    try:
        target = database_target()
        return target, open_database(target)
    except DatabaseConfigError as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:  # cannot connect: say where (password masked), not a traceback
        raise click.ClickException(
            f"cannot open the state database {_shown()}: {_why(error)}"
        ) from None


def _why(error: Exception) -> str:
    """The first line of the driver's message, with the password taken out should it appear."""
    from urllib.parse import urlsplit

    from bot.db import database_target

    line = (str(error).strip().splitlines() or [""])[0][:300]
    try:
        password = urlsplit(database_target().location).password
    except ValueError:
        password = None
    if password:
        line = line.replace(password, "***")
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


def _shown() -> str:
    from bot.db import database_target

    try:
        return database_target().shown()
    except ValueError:
        return "<WEGWIJS_DATABASE_URL unreadable>"


def upgrade_at_start() -> None:
    """``serve`` and ``chat`` bring the schema up to date before the slow start (Rasa), and
    say clearly (password masked) when the database cannot be reached, instead of a traceback.
    Opening the state store afterwards finds it at the head (one query)."""
    import logging

    from bot.db.migrate import upgrade

    target, db = _open()
    try:
        upgrade(db, target)
    except Exception as error:
        raise click.ClickException(
            f"cannot bring the state database up to date ({type(error).__name__}): {target.shown()}"
        ) from None
    finally:
        db.close()
    logging.getLogger("bot.db").info("state database: %s %s", target.engine, target.shown())


@click.group("db")
def db_group() -> None:
    """The state database: WEGWIJS_DATABASE_URL (PostgreSQL), else a SQLite file."""


@db_group.command("upgrade")
def upgrade_command() -> None:
    """Bring the schema to the newest revision (also done at every start)."""
    from bot.db.migrate import status, upgrade

    target, db = _open()
    try:
        before = status(db, target).current
        reached = upgrade(db, target)
    finally:
        db.close()
    if before == reached:
        click.echo(f"{target.engine} {target.shown()}: already at {reached}")
    else:
        click.echo(f"{target.engine} {target.shown()}: {before or 'new'} -> {reached}")


@db_group.command("status")
def status_command() -> None:
    """Engine, where, the schema's revision and the newest this version knows."""
    from bot.db.migrate import status

    target, db = _open()
    try:
        found = status(db, target)
    finally:
        db.close()
    click.echo(f"engine:   {found.engine}")
    click.echo(f"database: {found.where}")
    click.echo(f"current:  {found.current or '(none: not created yet, or made before Alembic)'}")
    click.echo(f"head:     {found.head}")
    click.echo("up to date" if found.up_to_date else "needs `wegwijs db upgrade` (or a start)")
    if not found.up_to_date:
        raise SystemExit(1)


@db_group.command("revision")
@click.argument("message")
def revision_command(message: str) -> None:
    """For developers: a new, empty migration in bot/db/migrations/versions (write its
    upgrade() with Alembic's op.* and SQLAlchemy types, so it runs on both engines)."""
    from alembic import command

    from bot.db.migrate import _config, head

    number = int(head().split("_", 1)[0]) + 1
    slug = "_".join(message.lower().split())[:40]
    config = _config()
    config.set_main_option("file_template", "%%(rev)s")  # 0002_what_it_does.py
    script = command.revision(config, message, rev_id=f"{number:04d}_{slug}")
    click.echo(f"Wrote {script.path if script else '?'}")  # type: ignore[union-attr]
