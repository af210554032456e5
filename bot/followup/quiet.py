"""No handoff left hanging after pick-up.

An unclaimed handoff is announced again and escalated (:meth:`HandoffDesk.tick`). A handoff
that was picked up and then went quiet needs the same care: when a parent's message has had
no answer for ``WEGWIJS_QUIET_HOURS`` working hours (default 4) of the worker who has it,
counted in that worker's own hours (so a message on Friday evening does not raise an alarm
on Saturday), the team and the coordinator are told, in the desk and in the Telegram topic.
Once per unanswered message: the next alarm needs a new message from the parent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from social_map.hours import open_time

DEFAULT_HOURS = 4.0
WORKING_DAY = timedelta(hours=8)  # "longer than a working day", in the report


class QuietError(ValueError):
    """WEGWIJS_QUIET_HOURS is not a number of hours > 0."""


@dataclass(frozen=True)
class QuietPolicy:
    hours: float = DEFAULT_HOURS

    @property
    def after(self) -> timedelta:
        return timedelta(hours=self.hours)

    @classmethod
    def from_env(cls) -> QuietPolicy:
        raw = os.environ.get("WEGWIJS_QUIET_HOURS", "").strip()
        if not raw:
            return cls()
        try:
            hours = float(raw)
        except ValueError:
            hours = 0.0
        if not 0 < hours <= 24 * 14:
            raise QuietError(
                "WEGWIJS_QUIET_HOURS must be a number of working hours above 0, e.g. 4 "
                f"(got {raw!r})"
            )
        return cls(hours)


def working_time(hours: str | None, start: datetime, end: datetime) -> timedelta:
    """How long ``start`` .. ``end`` lasted in these working hours."""
    return open_time(hours, start, end)
