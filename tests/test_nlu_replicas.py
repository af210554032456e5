"""Several Rasa servers in ``NLU_URL``: the bot keeps understanding parents when one goes away.

Every answer comes from the real Rasa server. The second "server" is a relay process in front
of it (tests/relay.py), so that one can be killed mid-run without a second Rasa (1.3 GB).
Dead addresses are free local ports nobody listens on; the hanging one accepts and never
answers. The cool-down runs on a test clock that the test moves by hand, as the bot's one
clock would move.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from e2e import buttons, until
from processes import ServeProcess, assert_private, eventually, serve_env

from bot.conversation.engine import Engine
from bot.conversation.map_provider import MapProvider
from bot.conversation.messages import Incoming
from bot.conversation.state import StateStore
from bot.nlu.client import DEFAULT_COOLDOWN, NLUClient, nlu_urls
from bot.nlu.server import free_port
from bot.nlu.understand import Understander
from fakes.telegram_api import FakeTelegram

RELAY = Path(__file__).parent / "relay.py"
START = datetime.fromisoformat("2026-11-24T10:00:00+01:00")
# Real needs, each in another language: what Rasa must recognise through any server.
NEEDS = [
    ("ik zoek eten voor mijn kinderen", "food"),
    ("I am looking for food for my children", "food"),
    ("je cherche de la nourriture pour mes enfants", "food"),
]


class MovingClock:
    """The bot's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Relay:
    """tests/relay.py as a child process in front of the real Rasa server."""

    def __init__(self, target: str, port: int | None = None) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Relay:
        self.proc = subprocess.Popen(
            [sys.executable, str(RELAY), str(self.port), self.target[0], str(self.target[1])]
        )
        return self

    async def ready(self) -> None:
        def accepts() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        await eventually(accepts, "the relay accepts connections")

    def kill(self) -> None:
        """Gone at once, mid-run: no goodbye to open connections."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def relays(rasa_url: str) -> Iterator[Callable[..., Relay]]:
    made: list[Relay] = []

    def make(port: int | None = None) -> Relay:
        relay = Relay(rasa_url, port).start()
        made.append(relay)
        return relay

    yield make
    for relay in made:
        relay.kill()


@asynccontextmanager
async def hanging_server() -> AsyncIterator[str]:
    """Accepts connections and reads, never answers: a Rasa stuck in a long pause."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in held:
            writer.close()
        server.close()


@asynccontextmanager
async def answering(status: int) -> AsyncIterator[str]:
    """A server that answers every request with ``status`` and no body."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(f"HTTP/1.1 {status} Trouble\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


def dead_address() -> str:
    return f"http://127.0.0.1:{free_port()}"


# -- Reading NLU_URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "urls"),
    [
        ("http://rasa:5005", ["http://rasa:5005"]),
        ("http://rasa:5005/", ["http://rasa:5005"]),
        ("http://a:5005,http://b:5005", ["http://a:5005", "http://b:5005"]),
        (" http://a:5005 , http://b:5005/ ", ["http://a:5005", "http://b:5005"]),
        (
            "http://a:5005 http://b:5005\thttp://c:5005",
            ["http://a:5005", "http://b:5005", "http://c:5005"],
        ),
        ("http://a:5005, http://a:5005/", ["http://a:5005"]),
        (" , ", []),
        ("", []),
    ],
)
def test_nlu_url_holds_one_or_several_servers(value: str, urls: list[str]) -> None:
    assert nlu_urls(value) == urls


def test_a_client_needs_at_least_one_server() -> None:
    with pytest.raises(ValueError, match="no Rasa server"):
        NLUClient(" , ")


# -- With the real Rasa server ----------------------------------------------------------------


@pytest.mark.rasa
async def test_a_dead_address_first_then_the_real_server(rasa_url: str) -> None:
    clock = MovingClock()
    client = NLUClient(f"{dead_address()}, {rasa_url}", timeout=5.0, clock=clock)
    try:
        for text, intent in NEEDS * 2:  # every turn, also those that start at the dead one
            parsed = await client.parse(text)
            assert parsed is not None and parsed.intent == intent, text
        assert client.servers_up() == 1
        health = await client.status()
        assert health["ok"] is True and health["up"] == 1 and health["of"] == 2
        assert str(health["model"]).endswith(".tar.gz")
        assert health["servers"] == [
            {"ok": False, "error": "ConnectError"},
            {"ok": True, "model": health["model"]},
        ]
        assert "127.0.0.1" not in repr(health)  # no address (it could hold a password)
    finally:
        await client.aclose()


@pytest.mark.rasa
async def test_one_of_two_servers_goes_away_mid_run_and_comes_back(
    rasa_url: str, relays: Callable[..., Relay]
) -> None:
    first, second = relays(), relays()
    await first.ready()
    await second.ready()
    clock = MovingClock()
    client = NLUClient(f"{first.url} {second.url}", timeout=5.0, clock=clock)
    try:
        for text, intent in NEEDS:
            parsed = await client.parse(text)
            assert parsed is not None and parsed.intent == intent
        assert (await client.status())["up"] == 2

        first.kill()  # mid-run: its kept-alive connections break, new ones are refused
        for text, intent in NEEDS * 3:
            parsed = await client.parse(text)
            assert parsed is not None and parsed.intent == intent, text
        assert client.servers_up() == 1

        # Back on the same address: while it cools down it is not asked first ...
        revived = relays(first.port)
        await revived.ready()
        clock.now += DEFAULT_COOLDOWN / 2
        assert client.servers_up() == 1
        # ... after the cool-down it takes its turns again, and answers.
        clock.now += DEFAULT_COOLDOWN
        assert client.servers_up() == 2
        for text, intent in NEEDS * 2:
            parsed = await client.parse(text)
            assert parsed is not None and parsed.intent == intent
        assert client.servers_up() == 2
        health = await client.status()
        assert health["ok"] and health["up"] == 2 and health["of"] == 2
    finally:
        await client.aclose()


@pytest.mark.rasa
async def test_a_hanging_server_leaves_time_for_the_next_one(rasa_url: str) -> None:
    async with hanging_server() as stuck:
        clock = MovingClock()
        client = NLUClient([stuck, rasa_url], timeout=4.0, clock=clock)
        try:
            for text, intent in NEEDS:
                parsed = await client.parse(text)
                assert parsed is not None and parsed.intent == intent, text
            # Skipped after the first time, until the cool-down is over.
            assert client.servers_up() == 1
        finally:
            await client.aclose()


@pytest.mark.rasa
@pytest.mark.parametrize("status", [409, 500, 502, 503])
async def test_a_server_without_a_model_or_failing_is_passed_over(
    rasa_url: str, status: int
) -> None:
    """Rasa answers 409 while a replica has no model yet; a proxy in front of a dead one, 502."""
    async with answering(status) as broken:
        client = NLUClient([broken, rasa_url], timeout=5.0, clock=MovingClock())
        try:
            parsed = await client.parse(NEEDS[0][0])
            assert parsed is not None and parsed.intent == NEEDS[0][1]
            assert client.servers_up() == 1
        finally:
            await client.aclose()


@pytest.mark.rasa
async def test_parents_are_understood_through_the_engine_while_a_server_dies(
    map_db: Path, rasa_url: str, relays: Callable[..., Relay]
) -> None:
    first = relays()
    await first.ready()
    client = NLUClient([first.url, rasa_url], timeout=5.0, clock=MovingClock())
    engine = Engine(MapProvider(map_db), Understander(client), StateStore(":memory:"))
    try:
        before = await engine.handle(Incoming("p1", "ik zoek eten voor mijn kinderen"))
        first.kill()
        after = await engine.handle(Incoming("p2", "ik zoek eten voor mijn kinderen"))
        assert before.intent == after.intent == "food"
        assert [r.text for r in before.replies] == [r.text for r in after.replies]
    finally:
        await client.aclose()
        engine.state.close()


async def test_every_server_down_is_the_menu_as_before() -> None:
    client = NLUClient([dead_address(), dead_address()], timeout=2.0, clock=MovingClock())
    try:
        assert await client.parse("ik zoek eten") is None
        assert client.servers_up() == 0
        health = await client.status()
        assert health == {
            "ok": False,
            "up": 0,
            "of": 2,
            "error": "ConnectError",
            "servers": [{"ok": False, "error": "ConnectError"}] * 2,
        }
    finally:
        await client.aclose()


async def test_a_bad_request_does_not_count_against_the_server() -> None:
    """A 4xx other than 409 is about the request, not the server: no cool-down."""
    async with answering(400) as url:
        client = NLUClient(url, timeout=2.0, clock=MovingClock())
        try:
            assert await client.parse("x") is None
            assert client.servers_up() == 1
        finally:
            await client.aclose()


async def test_health_on_a_single_server_keeps_its_shape() -> None:
    client = NLUClient(dead_address(), timeout=2.0)
    try:
        assert await client.status() == {"ok": False, "up": 0, "of": 1, "error": "ConnectError"}
    finally:
        await client.aclose()


@pytest.mark.rasa
async def test_wegwijs_serve_keeps_understanding_parents_while_a_rasa_server_dies(
    map_db: Path, rasa_url: str, relays: Callable[..., Relay], tmp_path: Path
) -> None:
    """The real ``wegwijs serve`` with two Rasa servers in NLU_URL (fake Telegram): a parent
    writing before, during and after one of them is killed is understood every time (asked
    for their area, never shown the menu of needs), and /healthz counts one server up."""
    first, second = relays(), relays()
    await first.ready()
    await second.ready()
    async with FakeTelegram() as fake:
        env = serve_env(
            tmp_path / "data",
            map_db,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.url,
            NLU_URL=f"{first.url}, {second.url}",
        )
        process = ServeProcess(env, tmp_path / "serve.log")
        await process.start()
        try:
            parents = list(range(931274700, 931274706))

            async def understood(parent: int) -> None:
                fake.parent_text(parent, "ik zoek eten voor mijn kinderen")
                # A new chat gets the language choice first; then the answer to the need.
                reply = await until(
                    fake,
                    parent,
                    lambda m: any(b.startswith(("area:", "need:")) for b in buttons(m)),
                )
                assert any(b.startswith("area:") for b in buttons(reply)), buttons(reply)
                assert not any(b.startswith("need:") for b in buttons(reply))

            for parent in parents[:2]:  # both servers take a turn
                await understood(parent)
            first.kill()
            for parent in parents[2:]:
                await understood(parent)
            # Messages met the dead server and went on to the other (its position is logged,
            # not its address).
            assert "nlu server 1 of 2 unavailable" in process.log.read_text(encoding="utf-8")
            nlu = (await process.health())["nlu"]
            assert nlu["ok"] and (nlu["up"], nlu["of"]) == (1, 2)
        finally:
            process.kill()
    assert_private(process.log, *(str(p) for p in parents), "eten", first.url, second.url)
