"""What a stranger on the internet, a stop signal or a slow client can do to the real
``wegwijs serve``, probed from outside as an attacker and an operator would (issue 14).

Each test runs ``wegwijs serve`` as a child process against the fake platforms
(tests/fakes/), and looks at it only from outside: HTTP, its log, its exit code and /proc
(peak memory, its child processes). Uploads of 200 MB are streamed from a small buffer, so the
test process itself never holds them. Every wait is for a condition; the only measured number
is a memory bound (VmHWM), never a duration.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e import SAMIRA, STAFF, buttons, named, text_of, until
from processes import (
    WAIT,
    ServeProcess,
    command_line,
    eventually,
    log_lines,
    running,
    serve_env,
)

from bot.conversation.i18n import Lang
from bot.nlu.training import latest_model
from fakes.graph_api import FakeGraph
from fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.rasa
SECRET = "webhook-secret-5c1e"  # Telegram's secret token header in webhook mode
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WA_PATH = "/whatsapp/webhook"
TG_PATH = "/telegram/webhook"
MB = 1024 * 1024
FORGED = "sha256=" + "0" * 64  # well-formed, so the bot must read the body to refuse it


# -- the fakes and the process ---------------------------------------------------------------


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as server:
        yield server


def whatsapp_settings(graph: FakeGraph) -> dict[str, str]:
    return {
        "WHATSAPP_TOKEN": graph.token,
        "WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id,
        "WHATSAPP_APP_SECRET": graph.app_secret,
        "WHATSAPP_VERIFY_TOKEN": graph.verify_token,
        "WHATSAPP_API_BASE_URL": graph.api_base_url,
    }


def telegram_settings(telegram: FakeTelegram, webhook_port: int | None = None) -> dict[str, str]:
    settings = {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_STAFF_CHAT_ID": str(STAFF),
        "TELEGRAM_API_BASE_URL": telegram.url,
    }
    if webhook_port is not None:
        settings["TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{webhook_port}"
        settings["TELEGRAM_WEBHOOK_SECRET"] = SECRET
    return settings


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[ServeProcess]]:
    """The test's ``wegwijs serve`` processes, killed at the end if still running."""
    made: list[ServeProcess] = []
    yield made
    for process in made:
        process.stop()


@pytest.fixture
def both_channels(
    telegram: FakeTelegram,
    graph: FakeGraph,
    rasa_url: str,
    map_db: Path,
    tmp_path: Path,
    processes: list[ServeProcess],
) -> ServeProcess:
    """``wegwijs serve`` with WhatsApp and Telegram in webhook mode (not started)."""
    env = serve_env(tmp_path / "data", map_db, NLU_URL=rasa_url, **whatsapp_settings(graph))
    env.update(telegram_settings(telegram, webhook_port=int(env["WEGWIJS_PORT"])))
    process = ServeProcess(env, tmp_path / "serve.log")
    graph.webhook_url = process.url + WA_PATH
    processes.append(process)
    return process


def refused(report: dict[str, Any]) -> dict[str, int]:
    """What ``/healthz`` counted of refused and abandoned requests since the start."""
    return dict(report["http"]["refused"])


# -- raw HTTP, as a misbehaving client sends it ----------------------------------------------


def head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: wegwijs", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def upload(port: int, path: str, headers: dict[str, str], size: int, chunked: bool) -> int:
    """POST ``size`` bytes of body, 64 KB at a time from one small buffer, until they are all
    sent or the bot answers or hangs up. Returns the status, or 0 when the bot closed the
    connection before an answer could be read (a reset may swallow it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)}
    writer.write(head(path, {**headers, **framing}))
    piece = b" " * (64 * 1024)  # JSON may well be blank: only its size makes it wrong
    frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    answer = asyncio.ensure_future(reader.readline())
    try:
        sent = 0
        while sent < size and not answer.done():
            writer.write(frame)
            await writer.drain()
            sent += len(piece)
        if chunked and not answer.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        line = await asyncio.wait_for(answer, WAIT)
    except (ConnectionError, OSError):
        line = answer.result() if answer.done() and not answer.exception() else b""
    finally:
        answer.cancel()
        writer.close()
    return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else 0


async def send_and_hang_up(port: int, data: bytes) -> None:
    """Send ``data`` and close the connection at once (the client gave up mid-request)."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def closed_by_the_server(reader: asyncio.StreamReader) -> None:
    """Read (and drop) whatever the server says until it closes the connection."""
    try:
        while await reader.read(4096):
            pass
    except (ConnectionError, OSError):
        pass


# -- 1. a body too big for memory --------------------------------------------------------------


async def test_200_mb_bodies_are_refused_while_read_at_bounded_memory(
    both_channels: ServeProcess, graph: FakeGraph, telegram: FakeTelegram
) -> None:
    bot = both_channels
    await bot.start()
    await graph.parent_text("32470000001", "/privacy")  # warm: one message answered first
    await graph.wait_for_messages("32470000001", 1, timeout=WAIT)
    before = bot.peak_memory_kb()

    size = 200 * MB
    # One unsigned upload that says its size, then five in parallel that do not (chunked) but
    # carry a well-formed signature, so the bot must read before it can refuse; one more to
    # the Telegram webhook with its secret.
    alone = await upload(bot.port, WA_PATH, {}, size, chunked=False)
    parallel = await asyncio.gather(
        *(
            upload(bot.port, WA_PATH, {"X-Hub-Signature-256": FORGED}, size, chunked=True)
            for _ in range(5)
        ),
        upload(bot.port, TG_PATH, {SECRET_HEADER: SECRET}, size, chunked=True),
        upload(bot.port, WA_PATH, {"X-Hub-Signature-256": FORGED}, size, chunked=False),
    )
    growth_mb = (bot.peak_memory_kb() - before) / 1024
    assert growth_mb < 50, f"peak memory grew by {growth_mb:.0f} MB"
    assert alone in (413, 401, 0)
    assert set(parallel) <= {413, 0}, parallel

    # Still serving, and refusals are counted, not logged one by one.
    await graph.parent_text("32470000002", "/privacy")
    await graph.wait_for_messages("32470000002", 1, timeout=WAIT)
    counted = refused(await bot.health())
    assert counted.get("body too large", 0) + counted.get("no signature", 0) >= 1
    assert not [line for line in log_lines(bot.log) if '"level": "error"' in line]


# -- 3. a log flood ----------------------------------------------------------------------------


async def test_thousands_of_aborted_or_refused_requests_leave_a_bounded_log(
    both_channels: ServeProcess, graph: FakeGraph
) -> None:
    bot = both_channels
    await bot.start()
    lines_before = len(log_lines(bot.log))
    aborted = head(WA_PATH, {"X-Hub-Signature-256": FORGED, "Content-Length": "100000"})
    aborted += b" " * 1000
    unsigned = head(WA_PATH, {"Content-Length": "2"}) + b"{}"
    garbage = b"GARBAGE /\x00 HTTP/9\r\n\r\n"
    limit = asyncio.Semaphore(50)

    async def one(data: bytes) -> None:
        async with limit:
            await send_and_hang_up(bot.port, data)

    await asyncio.gather(
        *(one(aborted) for _ in range(2000)),
        *(one(unsigned) for _ in range(500)),
        *(one(garbage) for _ in range(300)),
    )

    async def all_counted() -> bool:
        counted = refused(await bot.health())
        return (
            counted.get("client went away", 0) >= 2000
            and counted.get("no signature", 0) >= 500
            and counted.get("invalid HTTP", 0) >= 300
        )

    await eventually(all_counted, "every refused or abandoned request is counted", 120)
    new = log_lines(bot.log)[lines_before:]
    assert len(new) <= 10, "\n".join(new[:20])
    assert not [line for line in new if '"level": "error"' in line or "stack" in line]
    await graph.parent_text("32470000003", "/privacy")  # and still serving
    await graph.wait_for_messages("32470000003", 1, timeout=WAIT)


# -- 4. slow clients ---------------------------------------------------------------------------


async def test_half_sent_headers_and_bodies_are_closed_by_the_bot(
    both_channels: ServeProcess, graph: FakeGraph
) -> None:
    bot = both_channels
    await bot.start()
    half_headers = b"POST /whatsapp/webhook HTTP/1.1\r\nHost: wegwijs\r\nContent-Le"
    half_body = head(WA_PATH, {"X-Hub-Signature-256": FORGED, "Content-Length": "1000"})
    half_body += b'{"object": "whatsapp_'
    readers: list[asyncio.StreamReader] = []
    writers: list[asyncio.StreamWriter] = []
    for data in [half_headers] * 100 + [half_body] * 100:
        reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
        writer.write(data)
        await writer.drain()
        readers.append(reader)
        writers.append(writer)
    try:
        # Not how fast: only that the bot closes every one of them by itself.
        await asyncio.wait_for(
            asyncio.gather(*(closed_by_the_server(r) for r in readers)), timeout=120
        )
    finally:
        for writer in writers:
            writer.close()
    counted = refused(await bot.health())
    assert counted.get("headers too slow") == 100, counted
    assert counted.get("body too slow") == 100, counted
    await graph.parent_text("32470000004", "/privacy")  # and still serving
    await graph.wait_for_messages("32470000004", 1, timeout=WAIT)


# -- 2. stop signals ---------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_signal_stops_the_bot_gracefully(
    telegram: FakeTelegram,
    rasa_url: str,
    map_db: Path,
    tmp_path: Path,
    processes: list[ServeProcess],
    sig: signal.Signals,
) -> None:
    """Not as PID 1 (as under make run, systemd or a plain kill): the shutdown runs."""
    env = serve_env(tmp_path / "data", map_db, NLU_URL=rasa_url, **telegram_settings(telegram))
    bot = ServeProcess(env, tmp_path / "serve.log")
    processes.append(bot)
    await bot.start()
    assert await bot.stop_with(sig) == 0
    stopped = [line for line in log_lines(bot.log) if "wegwijs stopped" in line]
    assert len(stopped) == 1, log_lines(bot.log)[-20:]


# Three commands per parent, each answered with one message that says which command it was.
COMMANDS = {
    "/privacy": "Privacy, in short:",
    "/mydata": "This is what I keep about you:",
    "/language": "Choose your language:",
}


def answered(texts: list[str], lang: Lang) -> dict[str, int]:
    """How often each of COMMANDS was answered in ``texts``."""
    return {
        command: sum(text.startswith(lang._(start)) for text in texts)
        for command, start in COMMANDS.items()
    }


class Deliverer:
    """The platform's side of a webhook: every call is POSTed again until the bot answers
    200 (a refused connection while the bot is down included), as Telegram and Meta do."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = {"Content-Type": "application/json", **headers}
        self.acknowledged = 0
        self.client = httpx.AsyncClient(timeout=30)

    async def deliver(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        while True:
            try:
                response = await self.client.post(
                    self.url, content=body, headers={**self.headers, **(headers or {})}
                )
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code == 200:
                self.acknowledged += 1
                return
            if response is not None and 400 <= response.status_code < 500:
                raise AssertionError(f"the bot refused a good call: {response.status_code}")
            await asyncio.sleep(0.1)

    async def aclose(self) -> None:
        await self.client.aclose()


async def sigterm_when(
    bot: ServeProcess, deliverer: Deliverer, count: int, total: int
) -> tuple[int, int]:
    """SIGTERM once ``count`` calls were acknowledged; returns (acknowledged then, exit code)."""
    await eventually(lambda: deliverer.acknowledged >= count, f"{count} calls acknowledged", 120)
    at = deliverer.acknowledged
    code = await bot.stop_with(signal.SIGTERM)
    assert at < total, "the burst was over before the signal"
    return at, code


async def idle(bot: ServeProcess) -> None:
    """Wait until nothing is left to handle or to send."""

    async def empty() -> bool:
        database = (await bot.health())["database"]
        return database["outbox"]["pending"] == 0 and database["inbox"]["pending"] == 0

    await eventually(empty, "the inbox and the outbox are empty", 120)


PARENTS = 67  # x 3 commands: about 200 messages
PICKED_UP = (
    Lang("en")._("{name}, a bridge worker, is now reading your question.").format(name="Samira")
)


async def test_sigterm_during_a_telegram_webhook_burst_loses_nothing_and_answers_once(
    telegram: FakeTelegram,
    rasa_url: str,
    map_db: Path,
    tmp_path: Path,
    processes: list[ServeProcess],
) -> None:
    env = serve_env(tmp_path / "data", map_db, NLU_URL=rasa_url)
    env.update(telegram_settings(telegram, webhook_port=int(env["WEGWIJS_PORT"])))
    first = ServeProcess(env, tmp_path / "serve.log")
    processes.append(first)
    await first.start()
    deliverer = Deliverer(first.url + TG_PATH, {SECRET_HEADER: SECRET})

    async def push() -> None:
        for update in telegram.take_updates():
            await deliverer.deliver(json.dumps(update).encode())

    # Three parents hand their question over, Samira picks each up: her messages in their
    # topics are part of the burst (staff-group updates must not be lost either).
    handoffs: dict[int, int] = {}  # parent -> topic
    t = Lang("en")
    for parent in (931270001, 931270002, 931270003):
        telegram.parent_text(parent, "/menu", language_code="en")
        await push()
        menu = await until(telegram, parent, lambda m: "handoff:offer" in buttons(m))
        telegram.press(parent, menu, "handoff:offer")
        await push()
        consent = await until(telegram, parent, lambda m: "handoff:yes" in buttons(m))
        telegram.press(parent, consent, "handoff:yes")
        await push()
        await until(telegram, parent, lambda m: named(text_of(m)))
        await eventually(lambda: len(telegram.topics) == len(handoffs) + 1, "a topic", WAIT)
        topic = max(telegram.topics)
        summary = await until(
            telegram, STAFF, lambda m: "staff:pickup:" in str(buttons(m)), topic, timeout=WAIT
        )
        pickup = next(b for b in buttons(summary) if b.startswith("staff:pickup:"))
        telegram.press(SAMIRA, summary, pickup, first_name="Samira")
        await push()
        await until(telegram, parent, lambda m: PICKED_UP in text_of(m))
        handoffs[parent] = topic

    parents = list(range(931271000, 931271000 + PARENTS))
    burst: dict[int, list[bytes]] = {}
    for parent in parents:
        for command in COMMANDS:
            telegram.parent_text(parent, command, language_code="en")
            burst.setdefault(parent, []).append(json.dumps(telegram.take_updates()[0]).encode())
    for parent, topic in handoffs.items():
        for n in range(4):
            telegram.group_text(STAFF, SAMIRA, f"relay-{n}-{parent}", topic, first_name="Samira")
            burst.setdefault(topic, []).append(json.dumps(telegram.take_updates()[0]).encode())
    total = sum(len(calls) for calls in burst.values())

    async def in_order(calls: list[bytes]) -> None:  # one chat's updates, one after another
        for body in calls:
            await deliverer.deliver(body)

    sending = asyncio.gather(*(in_order(calls) for calls in burst.values()))
    try:
        _, code = await sigterm_when(first, deliverer, 60, total)
        assert code == 0
        second = ServeProcess(env, first.log)  # the same port and data directory
        processes.append(second)
        await second.start()
        await asyncio.wait_for(sending, timeout=180)
    finally:
        sending.cancel()
        await deliverer.aclose()
    await idle(second)

    for parent in parents:
        texts = [text_of(m) for m in telegram.sent(parent)]
        assert answered(texts, t) == dict.fromkeys(COMMANDS, 1), (parent, texts)
        assert len(texts) == len(COMMANDS), (parent, texts)
    for parent in handoffs:
        texts = [text_of(m) for m in telegram.sent(parent)]
        for n in range(4):
            assert sum(f"relay-{n}-{parent}" in text for text in texts) == 1, (parent, texts)
    assert not [line for line in log_lines(first.log) if '"level": "error"' in line]


async def test_sigterm_during_a_whatsapp_burst_loses_nothing_and_answers_once(
    graph: FakeGraph,
    rasa_url: str,
    map_db: Path,
    tmp_path: Path,
    processes: list[ServeProcess],
) -> None:
    env = serve_env(tmp_path / "data", map_db, NLU_URL=rasa_url, **whatsapp_settings(graph))
    first = ServeProcess(env, tmp_path / "serve.log")
    processes.append(first)
    await first.start()
    deliverer = Deliverer(first.url + WA_PATH, {})
    parents = [f"3247{n:07d}" for n in range(1000, 1000 + PARENTS)]
    burst: dict[str, list[bytes]] = {}
    for parent in parents:
        for command in COMMANDS:
            _, body = graph.message_webhook(parent, {"type": "text", "text": {"body": command}})
            burst.setdefault(parent, []).append(body)
    total = len(parents) * len(COMMANDS)

    async def in_order(calls: list[bytes]) -> None:
        for body in calls:
            await deliverer.deliver(body, {"X-Hub-Signature-256": graph.sign(body)})

    sending = asyncio.gather(*(in_order(calls) for calls in burst.values()))
    try:
        _, code = await sigterm_when(first, deliverer, 60, total)
        assert code == 0
        second = ServeProcess(env, first.log)
        processes.append(second)
        await second.start()
        await asyncio.wait_for(sending, timeout=180)
    finally:
        sending.cancel()
        await deliverer.aclose()
    await idle(second)

    nl = Lang("nl")
    for parent in parents:
        texts = [graph.text_of(m) for m in graph.sent(parent)]
        assert answered(texts, nl) == dict.fromkeys(COMMANDS, 1), (parent, texts)
        assert len(texts) == len(COMMANDS), (parent, texts)
    assert not [line for line in log_lines(first.log) if '"level": "error"' in line]


# -- 2b. the bot's own Rasa server never outlives it -------------------------------------------


@pytest.fixture
def own_rasa_env(
    telegram: FakeTelegram, rasa_url: str, map_db: Path, tmp_path: Path
) -> Iterator[Callable[[], dict[str, str]]]:
    """No NLU_URL: ``wegwijs serve`` starts its own Rasa server (the trained model is linked
    into the test's data directory). Any Rasa process found is killed at the end, by pid."""
    model = latest_model()
    assert model is not None, "the rasa_url fixture trains the model"
    data = tmp_path / "data"
    (data / "nlu-models").mkdir(parents=True)
    (data / "nlu-models" / model.name).symlink_to(model)
    seen: list[int] = []

    def make() -> dict[str, str]:
        return serve_env(data, map_db, **telegram_settings(telegram))

    make.seen = seen  # type: ignore[attr-defined]
    yield make
    for pid in seen:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def rasa_children(bot: ServeProcess) -> list[int]:
    return [pid for pid in bot.children() if "rasa" in command_line(pid)]


async def test_the_rasa_child_never_outlives_the_bot(
    own_rasa_env: Callable[[], dict[str, str]],
    tmp_path: Path,
    processes: list[ServeProcess],
) -> None:
    seen: list[int] = own_rasa_env.seen  # type: ignore[attr-defined]
    first = ServeProcess(own_rasa_env(), tmp_path / "serve.log")
    processes.append(first)
    await first.start(limit=300)  # Rasa loads its model first
    (rasa,) = rasa_children(first)
    seen.append(rasa)
    assert (await first.health())["nlu"]["ok"]
    assert await first.stop_with(signal.SIGTERM) == 0
    assert not running(rasa), "Rasa outlived a SIGTERM of the bot"

    # SIGKILL: no code of the bot runs. (Killed while Rasa still loads, which saves a minute:
    # what ties Rasa to the bot is armed before Rasa's own code starts.)
    second = ServeProcess(own_rasa_env(), tmp_path / "serve.log")
    processes.append(second)
    second.start_process()
    await eventually(lambda: bool(rasa_children(second)), "the bot starts Rasa", 120)
    (rasa,) = rasa_children(second)
    seen.append(rasa)
    second.kill()
    await eventually(lambda: not running(rasa), "Rasa ends with the killed bot", WAIT)
