"""The ``wegwijs`` command. Sub-command groups live next to the code they drive."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import click

from bot.nlu.cli import nlu_group
from social_map.cli import map_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wegwijs")
def main() -> None:
    """Wegwijs: find the right local service for parents in Leuven."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


main.add_command(map_group)
main.add_command(nlu_group)


@main.command()
def chat() -> None:
    """Chat with the bot in this terminal (starts a local Rasa server unless NLU_URL is set)."""
    from bot.nlu.server import RasaStartError, nlu_endpoint

    click.secho("Starting the language model, this takes about 20 seconds...", dim=True)
    try:
        with nlu_endpoint() as url:
            asyncio.run(_chat(url))
    except RasaStartError as exc:
        raise click.ClickException(str(exc)) from exc


async def _chat(url: str) -> None:
    from bot.app import engine_for
    from bot.channels.terminal import run_chat

    async with engine_for(url) as engine:
        await run_chat(engine)


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
    from bot.app import engine_for
    from bot.asking import answer_one

    async with engine_for(url, state_path=":memory:") as engine:
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
def serve() -> None:
    """Run every configured channel (Telegram, WhatsApp)."""
    raise click.ClickException(
        "No channel is available yet: set TELEGRAM_BOT_TOKEN or WHATSAPP_TOKEN once the "
        "Telegram/WhatsApp channels exist. Use `wegwijs chat` for the terminal chat."
    )


if __name__ == "__main__":
    main()
