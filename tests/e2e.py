"""What the end-to-end suites share: the staff group and bridge workers of the sample workers
file, the bot's controllable clock, and small readers of what the fake platforms received."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fakes.graph_api import FakeGraph
from fakes.telegram_api import FakeTelegram

BRUSSELS = ZoneInfo("Europe/Brussels")
STAFF = -1001234567890  # the staff forum group
SAMIRA, JONAS, NADIA = 900000001, 900000002, 900000003  # bridge_workers.sample.yml
WORKER_NAMES = ("Samira", "Jonas", "Nadia")
Message = dict[str, Any]


class Clock:
    """The bot's clock (handoffs, retention), moved on by a test: ``clock.now += ...``."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)  # a Tuesday morning

    def __call__(self) -> datetime:
        return self.now


# -- Telegram ------------------------------------------------------------------------------


def text_of(message: Message) -> str:
    return message.get("text") or message.get("caption") or ""


def buttons(message: Message) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b.get("callback_data") for row in rows for b in row]


async def until(
    fake: FakeTelegram,
    chat: int,
    check: Callable[[Message], bool],
    thread: int | None = None,
    timeout: float = 30.0,
) -> Message:
    """The next message in chat (thread) that passes ``check``, skipping others."""
    for _ in range(10):
        (message,) = await fake.wait_for_messages(chat, 1, thread_id=thread, timeout=timeout)
        if check(message):
            return message
    raise AssertionError("no such message")


def named(text: str) -> bool:
    """The bot's reply naming the bridge worker who will answer."""
    return any(name in text for name in WORKER_NAMES)


# -- WhatsApp ------------------------------------------------------------------------------


def offers(message: Message, payload: str) -> bool:
    """A WhatsApp reply button or list row with this payload."""
    action = (message.get("interactive") or {}).get("action") or {}
    ids = [b["reply"]["id"] for b in action.get("buttons", [])]
    ids += [r["id"] for s in action.get("sections", []) for r in s["rows"]]
    return payload in ids


async def wa_until(
    graph: FakeGraph, parent: str, check: Callable[[Message], bool], limit: int = 10
) -> Message:
    """The next message to the WhatsApp parent that passes ``check``, skipping others."""
    for _ in range(limit):
        (message,) = await graph.wait_for_messages(parent, 1)
        if check(message):
            return message
    raise AssertionError("no such message")
