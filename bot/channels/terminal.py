"""A terminal chat: the bot as a parent sees it, with buttons as numbered choices."""

from __future__ import annotations

import asyncio
import shutil
import textwrap

import click

from bot.conversation.messages import Button, Incoming, Reply
from bot.router import Router

CHAT_ID = "local"


def render(reply: Reply, width: int) -> tuple[str, list[Button]]:
    """Reply text wrapped to the terminal, buttons numbered from 1."""
    lines = []
    for line in reply.text.splitlines() or [""]:
        lines.extend(textwrap.wrap(line, width) or [""])
    buttons = [b for row in reply.buttons for b in row]
    if buttons:
        choices = [f"[{i}] {b.label}" for i, b in enumerate(buttons, start=1)]
        lines.append("")
        lines.extend(textwrap.wrap("   ".join(choices), width))
    return "\n".join(lines), buttons


async def run_chat(router: Router, chat_id: str = CHAT_ID) -> None:
    width = min(100, shutil.get_terminal_size((80, 24)).columns - 2)
    buttons: list[Button] = []
    click.secho("Wegwijs: type a message, a number to press a button, or /quit.", dim=True)
    replies = await router.handle(Incoming(chat_id, "/start"))
    if not replies:
        _handed_off_note()
    while True:
        for reply in replies:
            text, reply_buttons = render(reply, width)
            click.echo(click.style("wegwijs> ", fg="green") + text + "\n")
            if reply_buttons:
                buttons = reply_buttons
        try:
            line = await asyncio.to_thread(input, "you> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        line = line.strip()
        if line in ("/quit", "/exit"):
            return
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            button = buttons[int(line) - 1]
            click.secho(f"      ({button.label})", dim=True)
            msg = Incoming(chat_id, kind="button", payload=button.payload)
        else:
            msg = Incoming(chat_id, line)
        replies = await router.handle(msg)
        if not replies and router.desk.open_for(msg.chat_key) is not None:
            _handed_off_note()


def _handed_off_note() -> None:
    """The terminal has no staff group: say where a handed-off message went."""
    click.secho(
        "      (This chat is handed off to a bridge worker: your messages go to the staff group, "
        "which the terminal chat does not have. Type /forget to start again.)",
        dim=True,
    )
