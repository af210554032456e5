"""Request bodies read with limits, as an ASGI middleware in front of every route.

Starlette reads whatever a client sends: a 200 MB POST to a webhook became 200 MB (and more)
in memory before anyone looked at it. Here the body is counted while it arrives:

- a ``Content-Length`` above the route's limit is refused with 413 before a byte is read;
- a body without one (chunked) is refused with 413 the moment it passes the limit;
- all bodies being read at once share one budget (503 when it is spent), so many parallel
  uploads cannot add up either;
- the whole body must arrive within a deadline (408), so a client that trickles it cannot
  hold a connection open for ever;
- a client that hangs up mid-body is expected behaviour on the internet: counted, not an
  error with a stack.

A response to a request whose body was not read to the end closes the connection, so a client
cannot go on streaming into a connection nobody reads. Refusals are counted in a
:class:`~bot.web.tally.Tally`, never logged one by one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web.limits import BODY_BUDGET, BODY_TIMEOUT, DEFAULT_MAX_BODY
from bot.web.tally import Tally


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


class ServerBusy(Exception):
    pass


class BodyBudget:
    """Bytes of request bodies held in memory at once, across all requests."""

    def __init__(self, total: int = BODY_BUDGET) -> None:
        self.total = total
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.total:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        self.used -= size


def content_length(scope: Scope) -> int | None:
    """The declared body size (h11 has already refused a malformed one)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value)
    return None


class _Body:
    """One request's body as it arrives: its size, its deadline, its share of the budget."""

    def __init__(
        self,
        receive: Receive,
        limit: int,
        budget: BodyBudget | None,
        timeout: float,
        tally: Tally,
    ) -> None:
        self._receive = receive
        self.limit = limit
        self.budget = budget  # None: the handler streams the body to disk, not into memory
        self.deadline = asyncio.get_running_loop().time() + timeout
        self.tally = tally
        self.size = 0
        self.held = 0
        self.complete = False

    async def receive(self) -> Message:
        if self.complete:  # read to the end: later calls only wait for a disconnect
            return await self._receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            self.tally.note("body too slow")
            raise BodyTooSlow from None
        if message["type"] == "http.disconnect":
            self.tally.note("client went away")
            return message
        chunk = len(message.get("body", b""))
        self.size += chunk
        if self.size > self.limit:
            self.tally.note("body too large")
            raise BodyTooLarge
        if self.budget is not None:
            if not self.budget.take(chunk):
                self.tally.note("server busy")
                raise ServerBusy
            self.held += chunk
        if not message.get("more_body", False):
            self.complete = True
        return message


class BodyGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Mapping[str, int],
        tally: Tally,
        default_limit: int = DEFAULT_MAX_BODY,
        budget: BodyBudget | None = None,
        timeout: float = BODY_TIMEOUT,
        streamed: Mapping[str, tuple[int, float]] | None = None,
    ) -> None:
        self.app = app
        self.limits = dict(limits)
        # Path prefixes whose handlers stream the body to disk in small pieces (the desk's
        # file uploads): their own (larger) limit and deadline, outside the memory budget.
        self.streamed = dict(streamed or {})
        self.tally = tally
        self.default_limit = default_limit
        self.budget = budget or BodyBudget()
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit, timeout, budget = (
            self.limits.get(path, self.default_limit),
            self.timeout,
            self.budget,
        )
        for prefix, (streamed_limit, streamed_timeout) in self.streamed.items():
            if path.startswith(prefix):
                limit, timeout, budget = streamed_limit, streamed_timeout, None
        declared = content_length(scope)
        if declared is not None and declared > limit:
            self.tally.note("body too large")
            await refuse(send, 413, "request body too large")
            return
        body = _Body(receive, limit, budget, timeout, self.tally)
        started = False

        async def send_closing_if_unread(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not body.complete:  # nobody will read the rest: do not keep the connection
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, body.receive, send_closing_if_unread)
        except BodyTooLarge:
            if not started:
                await refuse(send, 413, "request body too large")
        except BodyTooSlow:
            if not started:
                await refuse(send, 408, "request body too slow")
        except ServerBusy:
            if not started:
                await refuse(send, 503, "busy, try again", retry_after=5)
        except ClientDisconnect:
            pass  # counted when it happened; nobody is left to answer
        finally:
            if budget is not None:
                budget.give(body.held)


async def refuse(send: Send, status: int, error: str, retry_after: int | None = None) -> None:
    """A short JSON answer that also closes the connection (its body may still be coming)."""
    content = json.dumps({"ok": False, "error": error}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
