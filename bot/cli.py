"""The ``wegwijs`` command. Sub-command groups live next to the code they drive."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Iterator

import click

from bot.db.cli import db_group, upgrade_at_start
from bot.desk.cli import desk_group
from bot.followup.checkback import CheckBackError, CheckBackPolicy
from bot.followup.quiet import QuietError, QuietPolicy
from bot.logs import LogFormatError
from bot.logs import configure as configure_logging
from bot.nlu.cli import nlu_group
from bot.report.cli import report_group, signal_group
from bot.retention import Retention, RetentionError
from social_map.cli import map_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wegwijs")
def main() -> None:
    """Wegwijs: find the right local service for parents in Leuven."""
    configure_logging(logging.WARNING, "text")  # `serve` switches to INFO and its format


main.add_command(map_group)
main.add_command(nlu_group)
main.add_command(report_group)
main.add_command(signal_group)
main.add_command(desk_group)
main.add_command(db_group)


@main.command()
def chat() -> None:
    """Chat with the bot in this terminal (starts a local Rasa server unless NLU_URL is set)."""
    from bot.nlu.server import RasaStartError

    try:
        Retention.from_env()  # a wrong setting is reported before the slow start
        CheckBackPolicy.from_env()
        upgrade_at_start()
        with _language_model() as url:
            asyncio.run(_chat(url))
    except (CheckBackError, RasaStartError, RetentionError) as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def _language_model() -> Iterator[str]:
    """The Rasa server for ``chat`` and ``serve``, with progress while it trains or starts
    (about 20 seconds): a newcomer's first run must never look hung."""
    import os
    import subprocess

    from bot.nlu import training
    from bot.nlu.server import RasaStartError, nlu_endpoint
    from bot.nlu.train_progress import train_with_progress
    from bot.progress import StatusLine, duration

    if not os.environ.get("NLU_URL") and training.latest_model() is None:
        click.echo("==> Training the language model first (3 to 4 minutes on 2 cores)")
        try:
            train_with_progress()
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            raise RasaStartError(f"training failed: {exc}") from exc
    with contextlib.ExitStack() as stack:
        with StatusLine(
            "Starting the language model", lambda s: f"{duration(s)} elapsed, usually about 0:20"
        ):
            url = stack.enter_context(nlu_endpoint())
        click.secho("    The language model is ready.", dim=True, err=True)
        yield url


async def _chat(url: str) -> None:
    from bot.app import team_or_sample, wegwijs
    from bot.channels.terminal import run_chat

    async with wegwijs(url, team=team_or_sample(required=False), staff_room=False) as app:
        await run_chat(app.router)


@main.command()
@click.argument("text", required=False)
@click.option("--lang", type=click.Choice(["nl", "ar", "fr", "en"]), help="The parent's language.")
@click.option("--area", help="The parent's area id, e.g. heverlee.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--jsonl",
    is_flag=True,
    help='Read {"text": ..., "lang": ..., "area": ...} lines on stdin, write JSON lines.',
)
def ask(text: str | None, lang: str | None, area: str | None, as_json: bool, jsonl: bool) -> None:
    """Answer one message (or a batch with --jsonl) as the bot would."""
    from bot.nlu.server import RasaStartError, nlu_endpoint

    if not jsonl and not text:
        raise click.UsageError("give a TEXT, or --jsonl with messages on standard input")
    try:
        with nlu_endpoint() as url:
            asyncio.run(_ask(url, text, lang, area, as_json, jsonl))
    except RasaStartError as exc:
        raise click.ClickException(str(exc)) from exc


async def _ask(
    url: str, text: str | None, lang: str | None, area: str | None, as_json: bool, jsonl: bool
) -> None:
    from bot.app import team_or_sample, wegwijs
    from bot.asking import answer_one

    team = team_or_sample(required=False)
    async with wegwijs(url, team=team, staff_room=False, state_path=":memory:") as app:
        engine = app.engine
        if not jsonl:
            result = await answer_one(engine, 0, {"text": text, "lang": lang, "area": area})
            click.echo(
                json.dumps(result, ensure_ascii=False, indent=2) if as_json else result["reply"]
            )
            return
        for n, line in enumerate(sys.stdin):
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                if not isinstance(request, dict) or not isinstance(request.get("text"), str):
                    raise ValueError('each line needs {"text": "..."}')
                request.setdefault("lang", lang)
                request.setdefault("area", area)
                result = await answer_one(engine, n, request)
            except ValueError as exc:
                result = {"error": f"line {n + 1}: {exc}"}
            click.echo(json.dumps(result, ensure_ascii=False))


@main.command()
@click.option(
    "--host",
    envvar="WEGWIJS_HOST",
    default="127.0.0.1",
    show_default=True,
    help="Address for /healthz and the webhooks (0.0.0.0 in a container).",
)
@click.option("--port", envvar="WEGWIJS_PORT", default=8080, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run every configured channel (TELEGRAM_BOT_TOKEN, WHATSAPP_TOKEN) and /healthz."""
    from telegram.error import InvalidToken

    from bot.channels.telegram.config import TelegramConfig, TelegramConfigError
    from bot.channels.whatsapp.config import WhatsAppConfig, WhatsAppConfigError
    from bot.desk.auth import DeskConfigError, DeskSettings
    from bot.handoff.workers import WorkersError
    from bot.nlu.server import RasaStartError
    from bot.replicas import ReplicaError, lease_seconds
    from bot.stopping import sigterm_interrupts

    try:
        configure_logging(logging.INFO)
        Retention.from_env()
        CheckBackPolicy.from_env()
        QuietPolicy.from_env()
        lease_seconds()  # several replicas: a wrong value is said now, not at the first claim
        telegram = TelegramConfig.from_env()
        whatsapp = WhatsAppConfig.from_env()
        if telegram is None and whatsapp is None:
            raise click.ClickException(
                "No channel configured: set TELEGRAM_BOT_TOKEN and/or WHATSAPP_TOKEN (see "
                "docs/operators.md), or use `wegwijs chat` for the terminal chat."
            )
        desk = DeskSettings.from_env()
        staff_room = telegram is not None and telegram.staff_chat_id is not None
        if not staff_room:
            click.echo(
                "Note: TELEGRAM_STAFF_CHAT_ID is not set, so bridge workers see handed-off "
                "questions in the desk only (/desk; set passwords with `wegwijs desk passwd`).",
                err=True,
            )
        from bot.app import team_or_sample

        team = team_or_sample(required=True)
        upgrade_at_start()
        # SIGTERM, like Ctrl-C, unwinds the start-up (Rasa loading) as well as the running bot:
        # the `with` blocks close, the bot's own Rasa server is stopped last.
        with sigterm_interrupts():
            try:
                with _language_model() as url:
                    asyncio.run(_serve(url, telegram, whatsapp, team, host, port, staff_room, desk))
            except (KeyboardInterrupt, asyncio.CancelledError):
                pass  # a stop signal before the bot was running, or a second one: a quick stop
        logging.getLogger("bot.cli").info("wegwijs stopped")
    except (
        CheckBackError,
        DeskConfigError,
        QuietError,
        LogFormatError,
        RasaStartError,
        ReplicaError,
        RetentionError,
        TelegramConfigError,
        WhatsAppConfigError,
        WorkersError,
    ) as exc:
        raise click.ClickException(str(exc)) from exc
    except InvalidToken:  # its own message repeats the token: never print that
        raise click.ClickException(
            "Telegram refused TELEGRAM_BOT_TOKEN; copy it again from @BotFather"
        ) from None


async def _serve(
    url: str,
    telegram: object,
    whatsapp: object,
    team: object,
    host: str,
    port: int,
    staff_room: bool,
    desk: object,
) -> None:
    """Until SIGTERM or SIGINT (see :mod:`bot.stopping`): the web server stops first, then
    the channels and the outbox (``BotServer``), then the databases (``wegwijs``)."""
    from bot.app import wegwijs
    from bot.server import BotServer
    from bot.stopping import StopSignals
    from bot.web.server import WebServer

    web: WebServer | None = None

    def hurry() -> None:
        if web is not None:
            web.force_exit = True

    with StopSignals(on_hurry=hurry) as stop:
        async with (
            wegwijs(url, team=team, staff_room=staff_room) as app,  # type: ignore[arg-type]
            BotServer(app, telegram, whatsapp, desk=desk) as server,  # type: ignore[arg-type]
        ):
            web = WebServer(server.asgi(), host, port, server.tally)
            serving = asyncio.create_task(web.serve())
            click.echo(
                f"Wegwijs is running: channels {', '.join(server.channels)}; "
                f"health on http://{host}:{port}/healthz; the desk on "
                f"http://{host}:{port}/desk/. Ctrl-C stops it."
            )
            stopped = asyncio.create_task(stop.requested.wait())
            await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            web.should_exit = True  # answers the requests in hand, takes no new ones
            await serving


@main.command()
def purge() -> None:
    """Delete now what has been kept long enough (WEGWIJS_RETENTION_DAYS, default 30).

    `wegwijs serve` does this every hour by itself; this is for an operator who lowered the
    retention time, or for a cron job when the bot is not running."""

    from bot.app import team_or_sample
    from bot.clock import system_clock
    from bot.conversation.state import StateStore
    from bot.db import database_target
    from bot.handoff.desk import HandoffDesk
    from bot.handoff.files import DeskFiles
    from bot.retention import purge as run_purge

    try:
        policy = Retention.from_env()
    except RetentionError as exc:
        raise click.ClickException(str(exc)) from exc
    state = StateStore(database_target(), system_clock)
    try:
        # Expired topics are queued for deletion; `serve` deletes them in the staff group.
        # Files workers sent from the desk are next to the state database.
        files = DeskFiles(state, state.files_dir())
        desk = HandoffDesk(state, team_or_sample(required=False), files=files)
        result = run_purge(state, desk, policy, state.clock())
    finally:
        state.close()
    click.echo(f"Retention {policy.days} days: {result.summary()}.")


if __name__ == "__main__":
    main()
