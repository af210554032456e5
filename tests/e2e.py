"""What the end-to-end suites share: the staff group and bridge workers of the sample workers
file, the bot's controllable clock and the dates tests judge by, and small readers of what the
fake platforms received."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.paths import MAP_DATA_DIR
from fakes.graph_api import FakeGraph
from fakes.telegram_api import FakeTelegram
from social_map.holidays import public_holidays, school_holiday_on

BRUSSELS = ZoneInfo("Europe/Brussels")
STAFF = -1001234567890  # the staff forum group
SAMIRA, JONAS, NADIA = 900000001, 900000002, 900000003  # bridge_workers.sample.yml
WORKER_NAMES = ("Samira", "Jonas", "Nadia")
Message = dict[str, Any]


TUESDAY_MORNING = datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)


class Clock:
    """The bot's one clock in a test (:mod:`bot.clock`).

    It starts at ``start`` and runs on with real time, so retry backoffs and waits behave as in
    production; a test jumps it with ``clock.now += timedelta(...)``. Everything the bot stamps
    or compares comes from here, so a test whose clock is a year away from the wall clock
    must behave exactly like one whose clock is today."""

    def __init__(self, start: datetime = TUESDAY_MORNING) -> None:
        self.now = start

    @property
    def now(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._since)

    @now.setter
    def now(self, moment: datetime) -> None:
        self._base, self._since = moment, time.monotonic()

    def __call__(self) -> datetime:
        return self.now

    def timestamp(self) -> float:
        """Unix time on this clock (what the fake Graph API stamps webhooks with)."""
        return self.now.timestamp()


def tuesday_morning_near(day: date) -> datetime:
    """The first Tuesday at 10:00 on or after ``day`` that starts a working week: no public or
    school holiday in the eight days from it, so that bridge workers are on duty and services
    keep their term-time hours whatever a test does within that week."""

    def working(d: date) -> bool:
        return d not in public_holidays(d.year) and school_holiday_on(d) is None

    while day.weekday() != 1 or not all(working(day + timedelta(days=n)) for n in range(8)):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=BRUSSELS)


def on_day(start: datetime, days: int, hour: int, minute: int = 0) -> datetime:
    """``days`` after ``start`` (a clock's Tuesday morning) at hour:minute, Brussels time."""
    return (start + timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)


def far_clock(years: int) -> Clock:
    """A clock ``years`` away from the wall clock (a Tuesday morning): a test run with it
    fails if anything compares a stamp from the wall clock with the bot's clock."""
    today = date.today()  # the wall clock, read on purpose: the point is to be far from it
    return Clock(
        tuesday_morning_near(today.replace(year=today.year + years, day=min(today.day, 28)))
    )


# The starts a date-sensitive test runs with: the fixed date the suites were written for, a year
# before the wall clock and a year after it. ``@any_date`` on a test that takes the ``clock``
# fixture (tests/conftest.py) runs it with each.
CLOCK_STARTS: dict[str, Callable[[], Clock]] = {
    "fixed": Clock,
    "year-before": lambda: far_clock(-1),
    "year-after": lambda: far_clock(+1),
}
any_date = pytest.mark.parametrize("clock", list(CLOCK_STARTS), indirect=True)


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


def map_checked_on() -> date:
    """The day the real map is judged against in tests: the newest ``last_verified`` in it, so
    that neither "checked too long ago" nor "a date in the future" depends on the wall clock."""
    days = re.findall(
        r"^last_verified:\s*(\d{4}-\d{2}-\d{2})",
        "\n".join(p.read_text(encoding="utf-8") for p in MAP_DATA_DIR.glob("*.yml")),
        flags=re.MULTILINE,
    )
    return max(date.fromisoformat(day) for day in days)
