"""Serve an ASGI app over real HTTP on a free local port, inside the test's event loop: the
fake Bot API, the fake Graph API and the bot's own webhook app all run this way."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    """uvicorn without signal handlers: the test process keeps its own Ctrl-C handling."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LocalServer:
    def __init__(self, app: Any, name: str) -> None:
        self.app = app
        self.name = name
        self.url = ""
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> str:
        """Start serving; returns the base URL once the server accepts connections."""
        if self._task is not None:
            raise RuntimeError(f"{self.name} already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Without TCP_NODELAY (inherited by accepted sockets) every answer waits ~40 ms for
        # Nagle/delayed ACK: uvicorn writes headers and body separately.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = server = _Server(config)
        self._task = task = asyncio.create_task(server.serve(sockets=[sock]), name=self.name)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        deadline = time.monotonic() + 10
        while not server.started:
            if task.done():
                task.result()  # raises the startup error
                raise RuntimeError(f"{self.name} exited during startup")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start within 10 s")
            await asyncio.sleep(0.005)
        return self.url

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except TimeoutError:
            self._server.force_exit = True
            await asyncio.wait_for(self._task, timeout=5)
        finally:
            self._server = None
            self._task = None


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Yields the base URL, e.g. http://127.0.0.1:43121."""
    server = LocalServer(app, "bot")
    try:
        yield await server.start()
    finally:
        await server.stop()
