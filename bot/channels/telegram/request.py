"""python-telegram-bot's HTTP layer, telling the outbox when a request really leaves.

python-telegram-bot calls ``do_request`` after its rate limiter let the call through: that is
the moment a message may reach Telegram, so that is when the outbox marks its row as maybe
sent (:mod:`bot.replicas.leaving`). Everything else is the library's default request.
"""

from __future__ import annotations

from typing import Any

from telegram.request import HTTPXRequest

from bot.replicas.leaving import leaving

POOL_SIZE = 256  # python-telegram-bot's default for an application's bot requests


class LeavingRequest(HTTPXRequest):
    def __init__(self) -> None:
        super().__init__(connection_pool_size=POOL_SIZE)

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        leaving()
        return await super().do_request(*args, **kwargs)


def polling_request(read_timeout: float) -> HTTPXRequest:
    """getUpdates' own request, as python-telegram-bot builds it (one connection), with the
    long poll's read timeout. Set as an instance because the builder refuses a timeout for it
    once the bots' request is an instance."""
    return HTTPXRequest(connection_pool_size=1, read_timeout=read_timeout)
