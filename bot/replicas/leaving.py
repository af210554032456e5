"""The moment a platform request really leaves this process.

The outbox marks a row "maybe sent" (``outbox.sending_by``) so that a replica taking over after
a crash knows which messages may already have reached the parent (see
:meth:`bot.handoff.outbox.Outbox._drain_key`). Marking when the outbox *hands* an item to a
channel is too early: the item may then wait behind Telegram's rate limiter or another part's
upload, and a crash there would make the survivor resend messages that never left. So the
channels' HTTP layers call :func:`leaving` right before each request goes on the wire, and the
outbox's hook (set for the delivery in hand with :func:`on_leaving`) marks the rows then.
A context variable carries the hook, so each chat's delivery (its own asyncio task) marks only
its own rows, through python-telegram-bot's rate limiter and httpx alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

_HOOK: ContextVar[Callable[[], None] | None] = ContextVar("wegwijs_leaving", default=None)


@contextlib.contextmanager
def on_leaving(hook: Callable[[], None]) -> Iterator[None]:
    """Call ``hook`` when a platform request of this delivery leaves (it may be called more
    than once: a retry, a file before its message; the hook makes it count once)."""
    token = _HOOK.set(hook)
    try:
        yield
    finally:
        _HOOK.reset(token)


def leaving() -> None:
    """Called by a channel's HTTP layer right before a request to the platform is sent."""
    hook = _HOOK.get()
    if hook is not None:
        hook()
