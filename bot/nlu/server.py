"""Run the Rasa NLU server as a child process when no ``NLU_URL`` is given.

The bot stays on Python >= 3.11 while Rasa 3.6 needs 3.10, so Rasa runs as its own process
(``rasa run --enable-api``) and the bot talks to it over HTTP, exactly as in production with
docker-compose. The child listens on loopback only and is stopped when the bot exits.

It runs in a session of its own, so a Ctrl-C in the terminal reaches only the bot, which then
stops Rasa itself after its own shutdown (which may still ask Rasa about a message). And it
never outlives the bot: the kernel kills it the moment the bot dies, however it dies
(``prctl(PR_SET_PDEATHSIG)``, Linux). That signal fires when the *thread* that started the
child ends, not the process, so the child is only ever started from the main thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from bot.nlu.training import rasa_env, rasa_executable
from bot.paths import NLU_PROJECT, data_dir


class RasaStartError(RuntimeError):
    """The local Rasa server did not come up; the message says where its log is."""


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def dies_with_this_process() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGKILL when this process dies (Linux;
    None elsewhere). libc is loaded here, before the fork: the function itself only calls."""
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            "start the Rasa server from the main thread: it is killed when the thread that "
            "started it ends"
        )
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def arm() -> None:  # in the child, between fork and exec
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the bot died before that: do not start at all
            os._exit(1)

    return arm


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalRasaServer:
    """A ``rasa run --enable-api`` child process serving one model on 127.0.0.1."""

    def __init__(self, model: Path, port: int | None = None) -> None:
        self.model = model
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir() / "logs" / "rasa.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        cmd = [
            str(rasa_executable()),
            "run",
            "--enable-api",
            "--model",
            str(self.model),
            "--interface",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--quiet",  # warnings only: Rasa must never log what parents write
        ]
        self._proc = subprocess.Popen(
            cmd,
            cwd=NLU_PROJECT,
            env=rasa_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=dies_with_this_process(),
        )
        log.close()
        try:
            self._wait_ready(timeout)
        except BaseException:  # not ready, or a stop signal while it loads
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RasaStartError(
                    f"Rasa exited with code {self._proc.returncode}; see {self.log_path}"
                )
            try:
                resp = httpx.post(f"{self.url}/model/parse", json={"text": "hallo"}, timeout=2.0)
                if resp.status_code == 200 and "intent" in resp.json():
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise RasaStartError(f"Rasa was not ready after {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> LocalRasaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def nlu_endpoint(train_if_needed: bool = True) -> Iterator[str]:
    """Yield the URL of a Rasa server: ``NLU_URL`` if set, else a local child process."""
    url = os.environ.get("NLU_URL")
    if url:
        yield url.rstrip("/")
        return
    from bot.nlu.training import latest_model, train

    model = latest_model()
    if model is None:
        if not train_if_needed:
            raise RasaStartError("No trained NLU model. Run `wegwijs nlu train` first.")
        model = train(quiet=True).model
    with LocalRasaServer(model) as server:
        yield server.url
