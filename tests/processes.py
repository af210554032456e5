"""The real ``wegwijs serve`` as a child process of a test: started, asked for its health,
signalled, killed, and looked at from outside (/proc) the way an operator would.

Every wait here is for a condition (polled), with a generous limit only against hanging for
ever: this machine is slow under load, and no test may depend on how fast it is.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bot.handoff.workers import SAMPLE_FILE
from bot.nlu.server import free_port

WEGWIJS = Path(sys.executable).parent / "wegwijs"
WAIT = 30.0  # seconds a subprocess test may wait for one thing (a cold start included)


async def eventually(
    check: Callable[[], Awaitable[bool] | bool], what: str, limit: float = WAIT
) -> None:
    """Wait until ``check`` holds (polled; ``limit`` only against hanging for ever)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


def serve_env(data: Path, map_db: Path, **settings: str) -> dict[str, str]:
    """The environment of a ``wegwijs serve`` for a test: none of the caller's channel or
    Wegwijs settings, one data directory, the sample bridge workers, a free port; then
    ``settings`` (``NLU_URL``, the channels' variables...)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WHATSAPP_", "WEGWIJS_", "NLU_URL"))
    }
    env.update(
        WEGWIJS_DATA_DIR=str(data),
        WEGWIJS_MAP_DB=str(map_db),
        WEGWIJS_BRIDGE_WORKERS=str(SAMPLE_FILE),
        WEGWIJS_HOST="127.0.0.1",
        WEGWIJS_PORT=str(free_port()),
        WEGWIJS_LOG_FORMAT="json",
    )
    env.update(settings)
    return env


class ServeProcess:
    """``wegwijs serve`` as a child process; processes made with the same data directory find
    each other's state and outbox (a restart)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = int(env["WEGWIJS_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def start_process(self) -> None:
        """Start, and return at once."""
        assert self.proc is None or self.proc.poll() is not None
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(WEGWIJS), "serve"], env=self.env, stdout=log, stderr=log
            )

    async def start(self, limit: float = WAIT) -> None:
        """Start and return once ``/healthz`` says every channel runs (outbox senders too)."""
        self.start_process()

        async def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"wegwijs serve exited:\n{self.log.read_text()}")
            try:
                return bool((await self.health()).get("ok"))
            except httpx.HTTPError:
                return False

        await eventually(healthy, "wegwijs serve is healthy", limit)

    async def health(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"{self.url}/healthz")
            return dict(response.json())

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, no last getUpdates confirms anything."""
        assert self.proc is not None and self.proc.poll() is None, "not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL

    async def stop_with(self, sig: int, limit: float = 120.0) -> int:
        """Send ``sig`` (as systemd, docker or a terminal would) and wait for the process to
        end by itself; returns its exit code."""
        assert self.proc is not None and self.proc.poll() is None, "not running"
        self.proc.send_signal(sig)
        proc = self.proc
        await eventually(lambda: proc.poll() is not None, f"wegwijs serve ends after {sig}", limit)
        assert proc.returncode is not None
        return proc.returncode

    def children(self) -> list[int]:
        """The pids of the process's children (the bot's own Rasa server, if it started one)."""
        found: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            found += [int(p) for p in (task / "children").read_text().split()]
        return found

    def peak_memory_kb(self) -> int:
        """VmHWM: the most resident memory the process has ever had, in kB."""
        return peak_memory_kb(self.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


def peak_memory_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for process {pid}")


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie (dead, waiting to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def log_lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8", errors="replace").splitlines()


def assert_private(log: Path, *secrets: str) -> None:
    """The privacy rule: no message text and no chat id in the bot's log."""
    written = log.read_text(encoding="utf-8", errors="replace")
    for secret in secrets:
        assert secret not in written, f"the log contains {secret!r}"
