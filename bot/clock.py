"""The one clock of the bot.

Everything Wegwijs stamps or compares in time (chat state, the inbox, seen message ids, the
outbox and its retry backoff, handoffs, WhatsApp's 24-hour window, the anonymous counts,
re-announcing and escalating, retention) asks the same injected :data:`Clock`. In production
that is :func:`system_clock`; tests pass their own, so that a test set a year away from
today behaves exactly as one set today. Two clocks in one mechanism (a row stamped with the
wall clock, a purge comparing with the injected one) is the bug this module exists to prevent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")

Clock = Callable[[], datetime]
"""Returns the current moment as an aware datetime."""


def system_clock() -> datetime:
    """The real time, in Brussels: the only place the bot reads the wall clock."""
    return datetime.now(BRUSSELS)


def utc_iso(moment: datetime) -> str:
    """How times are stored: UTC, to the second, so that text comparison is time order."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def utc_iso_ms(moment: datetime) -> str:
    """Like :func:`utc_iso`, to the millisecond (the outbox orders retries within a second)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def local_day(moment: datetime) -> date:
    """The calendar day in Leuven: what the anonymous daily counts are counted per."""
    return moment.astimezone(BRUSSELS).date()
