"""uvicorn, set up for the bot: the limits of :mod:`bot.web.limits`, its per-request warnings
counted, and no signal handling of its own.

Why no signal handling: uvicorn catches SIGTERM and SIGINT, shuts the web server down, then
restores the previous handlers and raises the signal again (``signal.raise_signal``) so that
"the expected behaviour" follows. For SIGTERM that behaviour is the default one: the kernel
ends the process on the spot, inside ``serve()``, before any code after it runs. So under
``make run``, systemd or a plain ``kill`` the bot's own shutdown (the channels, the outbox,
the state database, the Rasa child) never ran. Only as PID 1 in a container, where the
kernel ignores a default SIGTERM, did it look clean. The bot's stop signals are handled by
:mod:`bot.stopping` instead, which then stops this server like any other part.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from bot.web.limits import HEADER_TIMEOUT, KEEP_ALIVE, MAX_HEADER_BYTES, STOP_GRACE
from bot.web.protocol import with_header_deadline
from bot.web.tally import Tally, UvicornTally


class WebServer(uvicorn.Server):
    def __init__(self, app: ASGIApp, host: str, port: int, tally: Tally) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            http=with_header_deadline(HEADER_TIMEOUT, lambda: tally.note("headers too slow")),
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            timeout_keep_alive=int(KEEP_ALIVE),
            timeout_graceful_shutdown=int(STOP_GRACE),
            lifespan="off",
            access_log=False,
            log_level="warning",
            log_config=None,
            server_header=False,
        )
        super().__init__(config)
        self.tally = tally

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # see the module's docstring: bot.stopping handles the signals

    async def serve(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        counting = UvicornTally(self.tally)
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_log.addFilter(counting)
        try:
            await super().serve(sockets)  # type: ignore[arg-type]
        finally:
            uvicorn_log.removeFilter(counting)
