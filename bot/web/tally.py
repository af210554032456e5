"""Expected client behaviour, counted rather than logged one line per request.

A client that hangs up mid-upload, a call without a valid signature, a body that is too big
or too slow: on the open internet these happen all the time, and anyone can make thousands a
second. Logged one by one (worse: as an ERROR with a stack) they would rotate the real errors
out of the logs within a minute. So each is counted: the first one of a quiet spell gets a
line at once, the rest one summary line per interval while they last, and ``/healthz`` shows
the totals since the start.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import ClassVar

log = logging.getLogger(__name__)
EVERY = 60.0  # seconds between summary lines while refusals go on


class Tally:
    def __init__(self, every: float = EVERY) -> None:
        self.every = every
        self.totals: Counter[str] = Counter()  # since the start, for /healthz
        self._since: Counter[str] = Counter()  # since the last line
        self._window: asyncio.TimerHandle | None = None

    def note(self, kind: str) -> None:
        """One more request of this kind ("client went away", "body too large"...)."""
        self.totals[kind] += 1
        if self._window is not None:
            self._since[kind] += 1
            return
        log.warning(
            "http: refused or abandoned request (%s); more are counted in /healthz, with one "
            "line every %.0f s while they go on",
            kind,
            self.every,
        )
        self._open()

    def _open(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not serving: nothing to rate-limit against
            return
        self._window = loop.call_later(self.every, self._close)

    def _close(self) -> None:
        self._window = None
        if self._since:
            self.flush()
            self._open()

    def flush(self) -> None:
        """Say what was counted since the last line (also at a stop)."""
        if self._window is not None:
            self._window.cancel()
            self._window = None
        if not self._since:
            return
        counted = ", ".join(f"{count} {kind}" for kind, count in self._since.most_common())
        log.warning("http: refused or abandoned requests since the last line: %s", counted)
        self._since.clear()


class UvicornTally(logging.Filter):
    """uvicorn warns once per bad request ("Invalid HTTP request received."): those lines
    are counted in a tally instead, and dropped. Any other line passes."""

    COUNTED: ClassVar[dict[str, str]] = {
        "Invalid HTTP request received.": "invalid HTTP",
        "Unsupported upgrade request.": "unsupported upgrade",
        "Exceeded concurrency limit.": "too many connections",
    }

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        kind = self.COUNTED.get(message)
        if kind is None and message.startswith("No supported WebSocket library detected"):
            return False  # the second half of "unsupported upgrade"
        if kind is None:
            return True
        self.tally.note(kind)
        return False
