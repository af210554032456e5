"""``wegwijs desk``: passwords, access and the audit log of the bridge workers' desk."""

from __future__ import annotations

import csv
import sys
from datetime import timedelta

import click

from bot.clock import system_clock as clock_now


def _stores() -> tuple[object, object]:
    from bot.app import team_or_sample
    from bot.conversation.state import StateStore
    from bot.db import database_target
    from bot.handoff.workers import TeamFile

    team = team_or_sample(required=True)
    return StateStore(database_target()), team.current() if isinstance(team, TeamFile) else team


@click.group("desk")
def desk_group() -> None:
    """The bridge workers' desk (the web inbox under /desk)."""


@desk_group.command("passwd")
@click.argument("name")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)
def passwd(name: str, password_stdin: bool) -> None:
    """Set (or change) the desk password of the worker with this id (see the workers file)."""
    from bot.desk.auth import MIN_PASSWORD, Passwords, Sessions
    from bot.handoff.workers import WorkersError

    try:
        state, team = _stores()
    except WorkersError as error:
        raise click.ClickException(str(error)) from error
    try:
        worker = team.find(name.strip().lower())  # type: ignore[attr-defined]
        if worker is None:
            known = ", ".join(w.key for w in team.workers)  # type: ignore[attr-defined]
            raise click.ClickException(f"no worker with id {name!r} in the workers file ({known})")
        if not worker.active:
            click.echo(
                f"Note: {worker.first_name} is set inactive: they cannot sign in until active."
            )
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(
                f"New desk password for {worker.first_name}",
                hide_input=True,
                confirmation_prompt=True,
            )
        if len(password) < MIN_PASSWORD:
            raise click.ClickException(
                f"the password must have at least {MIN_PASSWORD} characters (a short sentence "
                "is easy to remember and hard to guess)"
            )
        Passwords(state).set(worker.key, password, clock_now())  # type: ignore[arg-type]
        ended = Sessions(state, None).end_all(worker.key)  # type: ignore[arg-type]
        click.echo(
            f"Password set for {worker.first_name} (login: {worker.key})"
            + (f"; {ended} open session(s) ended." if ended else ".")
        )
    finally:
        state.close()  # type: ignore[attr-defined]


@desk_group.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Take desk access away at once: remove the password and end every session."""
    from bot.desk.auth import Passwords, Sessions
    from bot.handoff.workers import WorkersError

    try:
        state, _ = _stores()
    except WorkersError as error:
        raise click.ClickException(str(error)) from error
    try:
        key = name.strip().lower()
        removed = Passwords(state).remove(key)  # type: ignore[arg-type]
        ended = Sessions(state, None).end_all(key)  # type: ignore[arg-type]
        click.echo(
            f"{key}: password {'removed' if removed else 'was not set'}, {ended} session(s) ended."
        )
    finally:
        state.close()  # type: ignore[attr-defined]


@desk_group.command("audit")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--worker", help="Only this worker's id.")
@click.option("--handoff", "handoff_id", type=int, help="Only this handoff number.")
def audit(days: int, worker: str | None, handoff_id: int | None) -> None:
    """Print the audit log as CSV: who signed in, who looked at which handoff, when."""
    from bot.conversation.state import StateStore
    from bot.db import database_target
    from bot.desk.auth import AuditLog

    state = StateStore(database_target())
    try:
        entries = AuditLog(state).entries(
            since=clock_now() - timedelta(days=days), worker=worker, handoff_id=handoff_id
        )
    finally:
        state.close()
    out = csv.writer(sys.stdout)
    out.writerow(["at", "worker", "action", "handoff", "detail"])
    for entry in reversed(entries):
        out.writerow(
            [
                entry.at.isoformat(),
                entry.worker,
                entry.action,
                entry.handoff_id or "",
                entry.detail or "",
            ]
        )
