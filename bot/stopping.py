"""How ``wegwijs serve`` stops: SIGTERM and SIGINT (Ctrl-C) the same way, however it is run
(a terminal, ``make run``, systemd, a plain ``kill``, docker as PID 1).

The first signal asks for a graceful stop: the web server answers the requests in hand and
takes no new ones, the channels finish the messages already taken in, the outbox finishes the
sends under way (and what else is due, for a few seconds), the state database is closed, and
then the bot's own Rasa server is stopped. A second signal hurries: whatever is still running
is cancelled. Nothing is lost either way: what was taken in and not answered is in the
inbox, what was not sent is in the outbox, and both are picked up at the next start.

Before the event loop runs (while Rasa loads, say) a SIGTERM is turned into the same
``KeyboardInterrupt`` as Ctrl-C, so the start-up unwinds and stops Rasa too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Outside the event loop, SIGTERM raises KeyboardInterrupt, as Ctrl-C does."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class StopSignals:
    """While the bot runs its event loop: the first signal sets :attr:`requested`; the second
    cancels the task that entered (the whole ``serve``), and ``on_hurry`` is called first."""

    def __init__(self, on_hurry: Callable[[], None] | None = None) -> None:
        self.requested = asyncio.Event()
        self.received: signal.Signals | None = None
        self.on_hurry = on_hurry
        self._task: asyncio.Task[Any] | None = None
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> StopSignals:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for sig in SIGNALS:
            self._previous[sig] = signal.getsignal(sig)
            loop.add_signal_handler(sig, self._on_signal, sig)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for sig, previous in self._previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous)  # remove_signal_handler would leave the default

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.requested.is_set():
            self.received = sig
            log.info("%s: stopping; finishing what is in hand (a second signal hurries)", sig.name)
            self.requested.set()
            return
        log.warning("%s again: stopping now; what is not done waits for the next start", sig.name)
        if self.on_hurry is not None:
            self.on_hurry()
        if self._task is not None:
            self._task.cancel()
