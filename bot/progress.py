"""Progress for the slow steps a newcomer waits through (training the model, starting Rasa).

A first ``make run`` spends minutes installing and training; silence there looks like a hang.
In a terminal a status line is redrawn every second (a bar, the elapsed time, an estimate of
the time left); when the output is a log (CI, ``make test > file``) a plain line is written
now and then instead, so the log stays readable.

The elapsed times here are durations shown to a person, measured with ``time.monotonic``:
they are not stamps, and nothing is compared with the bot's clock (:mod:`bot.clock`).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24
LOG_EVERY = 20.0  # seconds between lines when the output is not a terminal


def duration(seconds: float) -> str:
    """``75`` -> ``1:15``."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = 0 if total <= 0 else min(width, round(width * done / total))
    return "[" + "█" * filled + "·" * (width - filled) + "]"


class StatusLine:
    """One line of status for a step that takes a while, redrawn by a background thread.

    ``describe`` is called with the elapsed seconds and returns the text after the label; it
    runs in the ticker thread, so it must only read state that the caller sets atomically."""

    def __init__(
        self,
        label: str,
        describe: Callable[[float], str],
        stream: TextIO | None = None,
        *,
        log_every: float = LOG_EVERY,
    ) -> None:
        self.label = label
        self.describe = describe
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.log_every = log_every
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._last_logged = ""

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def __enter__(self) -> StatusLine:
        self._started = time.monotonic()
        self.draw(force=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _run(self) -> None:
        interval = 1.0 if self.tty else self.log_every
        while not self._stop.wait(interval):
            self.draw()

    def draw(self, force: bool = False) -> None:
        """Redraw now (a terminal), or write a line if it says something new (a log)."""
        text = f"  {self.label}: {self.describe(self.elapsed)}"
        if self.tty:
            self.stream.write("\r" + text[:200] + "\033[K")
        elif force or text != self._last_logged:
            self.stream.write(text + "\n")
            self._last_logged = text
        self.stream.flush()
