"""uvicorn's HTTP/1.1 protocol (h11) with a deadline for a request's headers.

uvicorn times out an idle kept-alive connection, but not a client that sends its headers a
byte at a time, or half of them and then nothing: such a connection stays open for ever, and
a thousand of them hold a thousand sockets. This subclass gives each request's line and
headers a deadline, from the moment the connection waits for them (opened, or the previous
answer sent) until h11 has parsed them. The body has its own deadline, in the ASGI app
(:mod:`bot.web.guard`), which can still answer 408.

Why here and not another server: uvicorn is already what the bot and its tests run on, and
this is a small, contained extension of one class through uvicorn's documented ``http=``
setting. hypercorn's ``read_timeout`` is per read, so a byte every few seconds defeats it;
granian would be a second server runtime for one timer. When a reverse proxy sits in front
(docs/operators.md), it enforces the same limits before the bot sees a byte; this deadline
is for when it does not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def with_header_deadline(seconds: float, too_slow: Callable[[], None]) -> type[H11Protocol]:
    """uvicorn's h11 protocol class whose connections close when a request's headers take
    longer than ``seconds``; ``too_slow`` is called for each (to count it)."""

    class HeaderDeadlineProtocol(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._header_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # a kept-alive connection now waits for the next request's headers

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self._header_deadline = self.loop.call_later(seconds, self._headers_due)

        def _disarm(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _headers_due(self) -> None:
            self._header_deadline = None
            if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
                return  # the headers came in time (a request is being read or answered)
            if self.conn.trailing_data[0]:  # part of a request, then nothing for too long
                too_slow()
            # (A connection that never sent a byte is closed without counting it.)
            self.transport.close()

    return HeaderDeadlineProtocol
