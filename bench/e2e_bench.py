"""End to end on Telegram: simulated parents, the real bot process, the real Rasa server.

Why: understanding a message (Rasa) is the expensive step; everything else the bot does per
message (Telegram polling, language detection, the crisis net, the social map, state in SQLite,
the outbox) should be small next to it. The goal is that a parent waits less than 20% longer
than the NLU alone takes. This script measures that under load, with the bot as it runs in
production (``wegwijs serve`` as its own process, long polling) and Telegram replaced at the
network boundary by the fake Bot API server of the test suite (tests/fakes/telegram_api.py):

1. Rasa is started (``NLU_URL`` reused when set). Per scenario, a social map is built into a
   fresh temporary data folder and ``wegwijs serve`` runs against the fake and Rasa.
2. End to end: ``--parents`` simulated parents (a quarter per language: nl, fr, en, ar incl.
   Darija in Latin letters) each send ``--messages`` messages: ``/start``, then texts drawn from
   the held-out test split (nlu/test_data), and an area button when the bot asks "which part
   of Leuven?". A parent sends the next message only after the bot's last reply to the previous
   one arrived; ``--concurrency`` parents are active at once (default: all of them). Latency:
   from the moment the update is available at the fake to the moment the bot's last reply to
   it arrives at the fake.
3. Rasa alone: the same texts, per parent in the same order, at the same concurrency, straight
   to Rasa's ``POST /model/parse``. The ratio of the two is what the bot adds.
4. Peak resident memory (VmHWM) of the bot and Rasa, CPU time per message of each process, and
   the "End to end" section of docs/benchmarks.md.

Scenarios: *deployed* (the bot exactly as in production), *unlimited* (the same load with
python-telegram-bot's AIORateLimiter switched off: Telegram allows a bot about 30 messages a
second, and with no reading time between messages that limit, not the bot, sets the pace) and
*sequential* (one parent at a time, no rate limiter: the bot's cost per message without any
queueing).

How many replies a message gets (one; two with the welcome or the crisis numbers) is not
guessed from their text: the bot queues all replies to a message in its outbox (SQLite) before
it sends the first one, so when the first reply arrives at the fake the benchmark counts that
chat's queued replies in the bot's state database (read-only).

Usage: ``python bench/e2e_bench.py [--parents 500] [--messages 20] [--concurrency N]
[--scenarios deployed,unlimited,sequential] [--no-doc] [--profile DIR] [--keep-logs DIR]``;
a quick run: ``--parents 20 --messages 5 --no-doc``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fakes live with the tests

from bot.nlu import evaluate  # noqa: E402
from bot.nlu.client import MAX_PARSE_CHARS  # noqa: E402
from fakes.telegram_api import FakeTelegram, JSONDict  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## End to end (Telegram)"
NOTES_BEGIN = "<!-- e2e-notes: written by hand, kept when the numbers are refreshed -->"
NOTES_END = "<!-- e2e-notes:end -->"
STAFF = -1001234567890
FIRST_PARENT = 5_000_000
LANGUAGES = ("nl", "fr", "en", "ar")
# Telegram's language_code is the phone's language: Arabic-speaking parents in Leuven often
# have their phone in French or Dutch.
HINTS = {"nl": ("nl",), "fr": ("fr",), "en": ("en",), "ar": ("ar", "ar", "fr", "nl")}
PENDING_REPLIES = (
    "SELECT id FROM outbox WHERE lane = 'parent' AND key = ? AND status = 'pending' AND id > ?"
)
# The unlimited and sequential scenarios: python-telegram-bot's AIORateLimiter without its
# limit of 30 messages a second (Telegram's own limit for a bot), to see what the bot costs.
UNLIMITED = """
import telegram.ext
class Unlimited(telegram.ext.AIORateLimiter):
    def __init__(self, max_retries=0, **_):
        super().__init__(overall_max_rate=0, group_max_rate=0, max_retries=max_retries)
telegram.ext.AIORateLimiter = Unlimited
"""
SERVE = """
from bot.cli import main
main(["serve"], prog_name="wegwijs")
"""
PROFILED = """
import cProfile, sys
from bot.cli import main
cProfile.run('main(["serve"], prog_name="wegwijs", standalone_mode=False)', sys.argv[1])
"""


# -- processes ---------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """A process and its children (Rasa forks a worker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in children.read_text().split()]
    return pids


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size (VmHWM) of a process and its children, in MiB."""
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process and its children so far."""
    if pid is None:
        return float("nan")
    if pid == os.getpid():
        times = os.times()
        return times.user + times.system
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bin_dir() -> Path:
    here = Path(sys.executable).parent
    return here if (here / "wegwijs").exists() else ROOT / ".venv" / "bin"


@contextlib.contextmanager
def rasa(pid_hint: int | None) -> Any:
    """(url, pid): ``NLU_URL`` if set (pid only with --rasa-pid), else a local Rasa server."""
    if os.environ.get("NLU_URL"):
        yield os.environ["NLU_URL"].rstrip("/"), pid_hint
        return
    from bot.nlu.server import LocalRasaServer
    from bot.nlu.training import train

    print("Rasa: training (or reusing) the model and starting the server ...", file=sys.stderr)
    with LocalRasaServer(train(quiet=True).model) as server:
        yield server.url, server.pid


class Bot:
    """``wegwijs serve`` as a child process, against the fake Bot API and Rasa."""

    def __init__(
        self,
        data: Path,
        api_url: str,
        token: str,
        nlu_url: str,
        *,
        unlimited: bool,
        profile: Path | None,
    ) -> None:
        self.data = data
        self.port = free_port()
        self.log_path = data / "bot.log"
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
        self.env = {
            **keep,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_STAFF_CHAT_ID": str(STAFF),
            "TELEGRAM_API_BASE_URL": api_url,
            "NLU_URL": nlu_url,
            "WEGWIJS_DATA_DIR": str(data),
            "WEGWIJS_BRIDGE_WORKERS": str(ROOT / "bridge_workers.sample.yml"),
            "WEGWIJS_HOST": "127.0.0.1",
            "WEGWIJS_PORT": str(self.port),
        }
        for name in ("WEGWIJS_STATE_DB", "WEGWIJS_MAP_DB"):
            self.env.pop(name, None)
        python = str(bin_dir() / "python")
        if profile is not None:
            self.cmd = [python, "-c", (UNLIMITED if unlimited else "") + PROFILED, str(profile)]
        elif unlimited:
            self.cmd = [python, "-c", UNLIMITED + SERVE]
        else:
            self.cmd = [str(bin_dir() / "wegwijs"), "serve"]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def build_map(self) -> None:
        subprocess.run(
            [str(bin_dir() / "wegwijs"), "map", "build"],
            env=self.env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    async def start(self, timeout: float = 60.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the bot exited; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    health = await http.get(f"http://127.0.0.1:{self.port}/healthz")
                    if health.status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the bot was not healthy after {timeout:.0f} s; see {self.log_path}")

    async def stop(self) -> None:
        """Ctrl-C, as an operator would; killed only if it does not stop."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        for _ in range(300):
            if self.proc.poll() is not None:
                return
            await asyncio.sleep(0.1)
        self.proc.kill()
        self.proc.wait()

    def log_lines(self, pattern: str) -> int:
        text = self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""
        return len(re.findall(pattern, text))


# -- the parents ---------------------------------------------------------------------------------


@dataclass
class Turn:
    """One parent message and the bot's replies to it."""

    chat_id: int
    kind: str  # command, text, button
    text: str
    queued: float = 0.0
    update_id: int = 0
    polled_at: float | None = None  # when getUpdates first handed it to the bot
    expected: int | None = None  # replies the bot queued for it
    replies: list[JSONDict] = field(default_factory=list)
    first_at: float | None = None
    done_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def latency_ms(self) -> float | None:
        return None if self.done_at is None else (self.done_at - self.queued) * 1000

    def phases_ms(self) -> tuple[float, float, float] | None:
        """Waiting to be polled, polled to first reply, first to last reply."""
        if self.done_at is None or self.polled_at is None or self.first_at is None:
            return None
        return (
            (self.polled_at - self.queued) * 1000,
            (self.first_at - self.polled_at) * 1000,
            (self.done_at - self.first_at) * 1000,
        )


class Replies:
    """Matches the messages the bot sends to the parent message they answer."""

    def __init__(self, state_db: Path) -> None:
        self.state_db = state_db
        self._db: sqlite3.Connection | None = None
        self.open: dict[int, Turn] = {}
        self.counted: dict[int, int] = {}  # chat -> highest outbox id already counted
        self.unexpected: list[JSONDict] = []  # a reply nobody waited for (or to the staff)
        self.guessed = 0  # a first reply whose siblings were not found in the outbox

    def _pending(self, chat_id: int) -> list[int]:
        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.state_db}?mode=ro", uri=True, timeout=10)
        rows = self._db.execute(
            PENDING_REPLIES, (f"telegram:{chat_id}", self.counted.get(chat_id, 0))
        )
        return [row[0] for row in rows]

    def on_sent(self, message: JSONDict) -> None:
        """Called by the fake when the bot's message arrives (before the bot gets the answer)."""
        now = time.perf_counter()
        chat_id = message["chat"]["id"]
        turn = self.open.get(chat_id)
        if turn is None:
            self.unexpected.append(message)
            return
        if turn.expected is None:
            ids = self._pending(chat_id)  # this reply's row is still there: not yet confirmed
            if ids:
                self.counted[chat_id] = max(ids)
            else:
                self.guessed += 1
            turn.expected = max(len(ids), 1)
            turn.first_at = now
        turn.replies.append(message)
        if len(turn.replies) >= turn.expected:
            turn.done_at = now
            del self.open[chat_id]
            turn.done.set()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


class RecordingTelegram(FakeTelegram):
    """The fake Bot API, telling the benchmark when each update was queued and first handed to
    the bot, and the moment each of the bot's messages arrives."""

    def __init__(self, on_sent: Callable[[JSONDict], None]) -> None:
        super().__init__()
        self.on_sent = on_sent
        self.last_update_id = 0
        self.polled: dict[int, float] = {}  # update_id -> first handed out

    def _queue_update(self, payload: JSONDict) -> None:
        super()._queue_update(payload)
        self.last_update_id = self._updates[-1]["update_id"]

    async def _get_updates(self, params: JSONDict, request: Any = None) -> list[JSONDict] | None:
        result = await super()._get_updates(params, request)
        now = time.perf_counter()
        for update in result or []:
            self.polled.setdefault(update["update_id"], now)
        return result

    def _store_sent(self, message: JSONDict) -> JSONDict:
        stored = super()._store_sent(message)
        self.on_sent(message)
        return stored


def buttons(message: JSONDict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button.get("callback_data") or "" for row in rows for button in row]


@dataclass
class Parent:
    chat_id: int
    language: str
    hint: str
    texts: list[str]
    turns: list[Turn] = field(default_factory=list)

    @property
    def sent_texts(self) -> list[str]:
        return [turn.text for turn in self.turns if turn.kind == "text"]


def make_parents(count: int, messages: int, seed: int, first_id: int) -> list[Parent]:
    rng = random.Random(seed)
    split = evaluate.load_test_split()
    parents = []
    for n in range(count):
        lang = LANGUAGES[n % len(LANGUAGES)]
        texts = [text for _, text in rng.choices(split[lang], k=max(messages - 1, 0))]
        parents.append(Parent(first_id + n, lang, rng.choice(HINTS[lang]), texts))
    return parents


async def converse(
    parent: Parent,
    messages: int,
    fake: RecordingTelegram,
    replies: Replies,
    rng: random.Random,
    timeout: float,
) -> None:
    """A parent: /start, then texts; an area button when asked. Waits for every reply."""
    texts = iter(parent.texts)
    last: JSONDict | None = None
    for step in range(messages):
        areas = [data for data in buttons(last or {}) if data.startswith("area:")]
        if step == 0:
            turn = Turn(parent.chat_id, "command", "/start")
        elif areas:
            turn = Turn(parent.chat_id, "button", rng.choice(areas))
        else:
            turn = Turn(parent.chat_id, "text", next(texts))
        replies.open[parent.chat_id] = turn
        if turn.kind == "button":
            assert last is not None
            fake.press(parent.chat_id, last, turn.text, first_name="Parent")
        else:
            fake.parent_text(parent.chat_id, turn.text, language_code=parent.hint)
        turn.queued = time.perf_counter()  # the update is available to getUpdates from now
        turn.update_id = fake.last_update_id
        parent.turns.append(turn)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(turn.done.wait(), timeout)
        turn.polled_at = fake.polled.get(turn.update_id)
        if turn.done_at is None:
            replies.open.pop(parent.chat_id, None)
            last = None
            continue
        last = turn.replies[-1]


async def run_parents(
    parents: list[Parent],
    messages: int,
    concurrency: int,
    fake: RecordingTelegram,
    replies: Replies,
    seed: int,
    timeout: float,
) -> float:
    """All parents' conversations; returns the wall time in seconds."""
    limit = asyncio.Semaphore(concurrency)
    total = len(parents) * messages

    async def one(parent: Parent) -> None:
        async with limit:
            rng = random.Random(seed * 1_000_003 + parent.chat_id)  # its own: reproducible
            await converse(parent, messages, fake, replies, rng, timeout)

    async def progress() -> None:
        while True:
            await asyncio.sleep(15)
            done = sum(len(p.turns) for p in parents)
            print(f"  {done:,}/{total:,} messages sent", file=sys.stderr)

    reporter = asyncio.create_task(progress())
    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(p) for p in parents))
    finally:
        reporter.cancel()
    return time.perf_counter() - started


async def rasa_alone(
    url: str, parents: list[Parent], concurrency: int
) -> tuple[list[float], float, int]:
    """The parents' texts straight to Rasa, same order per parent, same concurrency. Returns
    the latencies, the wall time and how many calls failed (and were tried again: with
    hundreds of waiting connections Rasa's server now and then drops one).

    One client (one connection) per parent: a single httpx client with hundreds of connections
    spends more CPU choosing a connection than Rasa spends parsing, on the same two CPUs. The
    connections are opened before the clock starts: Rasa's server accepts new connections only
    between parses and keeps at most 100 waiting (its listen backlog), so under load it drops
    or resets them, which has nothing to do with parsing. (The bot opens at most a few dozen.)"""
    limit = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    failures = 0
    clients = [httpx.AsyncClient(base_url=url, timeout=300, verify=False) for _ in parents]

    async def parse(http: httpx.AsyncClient, text: str) -> None:
        nonlocal failures
        started = time.perf_counter()
        for attempt in range(3):
            try:
                answer = await http.post("/model/parse", json={"text": text[:MAX_PARSE_CHARS]})
                answer.raise_for_status()
                break
            except httpx.HTTPError:
                failures += 1
                if attempt == 2:
                    raise
        latencies.append((time.perf_counter() - started) * 1000)

    async def one(http: httpx.AsyncClient, texts: list[str]) -> None:
        async with limit:
            for text in texts:
                await parse(http, text)

    try:
        for n in range(0, len(clients), 50):  # GET / answers "Hello from Rasa"
            await asyncio.gather(*(http.get("/") for http in clients[n : n + 50]))
        started = time.perf_counter()
        pairs = zip(clients, parents, strict=True)
        await asyncio.gather(*(one(http, p.sent_texts) for http, p in pairs))
        return latencies, time.perf_counter() - started, failures
    finally:
        for http in clients:
            await http.aclose()


def listen_overflows() -> int:
    """Connection attempts the kernel dropped because a server's listen backlog was full."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        if names.startswith("TcpExt:"):
            counters = dict(zip(names.split(), values.split(), strict=True))
            return int(counters.get("ListenOverflows", 0))
    return 0


# -- scenarios -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    parents: int
    messages: int
    concurrency: int
    unlimited: bool  # python-telegram-bot's rate limiter switched off (a diagnostic)

    @property
    def label(self) -> str:
        at_once = (
            "all at once" if self.concurrency >= self.parents else f"{self.concurrency} at once"
        )
        if self.concurrency == 1:
            at_once = "one at a time"
        limiter = "no rate limiter (diagnostic)" if self.unlimited else "as deployed"
        return (
            f"{self.name}: {self.parents:,} parents × {self.messages} messages, "
            f"{at_once}, {limiter}"
        )


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    concurrency = min(args.concurrency or args.parents, args.parents)
    sequential = min(args.parents, args.sequential_parents)
    known = {
        "deployed": Scenario("deployed", args.parents, args.messages, concurrency, False),
        "unlimited": Scenario("unlimited", args.parents, args.messages, concurrency, True),
        "sequential": Scenario("sequential", sequential, args.messages, 1, True),
    }
    return [known[name] for name in args.scenarios]


# -- report --------------------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Result:
    scenario: Scenario
    turns: list[Turn]
    e2e_seconds: float
    raw: list[float]
    raw_seconds: float
    bot_rss: float
    cpu: dict[str, float]  # seconds during the end-to-end part
    raw_cpu: dict[str, float]  # seconds during the Rasa-alone part
    degraded: int
    errors: int
    unexpected: int
    guessed: int
    overflows: tuple[int, int]  # dropped connection attempts: end to end, Rasa alone
    raw_failures: int  # Rasa alone: calls that failed and were tried again

    def latencies(self, *kinds: str) -> list[float]:
        return [
            latency
            for t in self.turns
            if (latency := t.latency_ms) is not None and (not kinds or t.kind in kinds)
        ]

    @property
    def planned(self) -> int:
        return self.scenario.parents * self.scenario.messages

    @property
    def answered(self) -> int:
        return sum(1 for t in self.turns if t.done_at is not None)

    @property
    def complete(self) -> bool:
        return self.answered == len(self.turns) == self.planned and not self.unexpected


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _stats(samples: list[float]) -> str:
    """median / p95 / p99 (mean)."""
    if not samples:
        return "-"
    median, p95, p99 = (percentile(samples, q) for q in (0.5, 0.95, 0.99))
    return f"{_ms(median)} / {_ms(p95)} / {_ms(p99)} ({_ms(statistics.fmean(samples))})"


def _ratio(e2e: list[float], raw: list[float], fraction: float | None) -> str:
    """Of a percentile, or of the means (``fraction`` None)."""
    if not e2e or not raw:
        return "-"
    if fraction is None:
        value = statistics.fmean(e2e) / statistics.fmean(raw)
    else:
        value = percentile(e2e, fraction) / percentile(raw, fraction)
    return f"**{value:.2f}**"


def latency_table(results: list[Result]) -> str:
    rows = [
        "| scenario | answered | texts end to end: median / p95 / p99 (mean) | Rasa alone, same "
        "texts: median / p95 / p99 (mean) | ratio, median | ratio, p95 | ratio, mean | "
        "throughput: end to end / Rasa alone |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        text = r.latencies("text")
        rows.append(
            f"| {r.scenario.label} | {r.answered:,} of {r.planned:,} "
            f"({100 * r.answered / max(r.planned, 1):.1f}%) | {_stats(text)} | {_stats(r.raw)} | "
            f"{_ratio(text, r.raw, 0.5)} | {_ratio(text, r.raw, 0.95)} | "
            f"{_ratio(text, r.raw, None)} | {r.answered / r.e2e_seconds:.1f} messages/s / "
            f"{len(r.raw) / max(r.raw_seconds, 1e-9):.1f} parses/s |"
        )
    return "\n".join(rows)


def detail_table(results: list[Result], rasa_rss: float | None) -> str:
    names = [r.scenario.name for r in results]
    rows = [
        "| measure | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(results),
    ]

    def row(label: str, cell: Callable[[Result], str]) -> None:
        rows.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")

    def kinds(r: Result) -> str:
        count = {k: sum(1 for t in r.turns if t.kind == k) for k in ("text", "command", "button")}
        return f"{count['text']:,} texts, {count['command']:,} /start, {count['button']:,} area buttons"

    def phase(i: int) -> Callable[[Result], str]:
        def cell(r: Result) -> str:
            phases = [p for t in r.turns if t.kind == "text" and (p := t.phases_ms()) is not None]
            return _ms(statistics.median(p[i] for p in phases)) if phases else "-"

        return cell

    def per_message(who: str, raw: bool = False) -> Callable[[Result], str]:
        def cell(r: Result) -> str:
            seconds = (r.raw_cpu if raw else r.cpu).get(who, float("nan"))
            count = len(r.raw) if raw else r.answered
            return f"{1000 * seconds / max(count, 1):.1f} ms" if seconds == seconds else "-"

        return cell

    def no_nlu(r: Result) -> str:
        return _stats(r.latencies("command", "button"))

    def raw_cpu(r: Result) -> str:
        return f"{per_message('rasa', True)(r)} / {per_message('bench', True)(r)}"

    row("messages sent", kinds)
    row("replies received", lambda r: f"{sum(len(t.replies) for t in r.turns):,}")
    row("all messages: median / p95 / p99", lambda r: _stats(r.latencies()))
    row("/start and area buttons (no NLU): median / p95 / p99", no_nlu)
    row("texts, median: update waiting for getUpdates", phase(0))
    row("texts, median: getUpdates to first reply (bot + Rasa)", phase(1))
    row("texts, median: first to last reply", phase(2))
    row("CPU per message: bot process", per_message("bot"))
    row("CPU per message: Rasa", per_message("rasa"))
    row("CPU per message: benchmark process (fake Telegram, parents)", per_message("bench"))
    row("CPU per parse, Rasa alone: Rasa / benchmark client", raw_cpu)
    row("replies in degraded mode (`nlu unavailable`)", lambda r: f"{r.degraded:,}")
    row("connection attempts dropped (listen backlog full): end to end / Rasa alone",
        lambda r: f"{r.overflows[0]:,} / {r.overflows[1]:,}")  # fmt: skip
    row("Rasa alone: calls that failed (closed connection) and were tried again",
        lambda r: f"{r.raw_failures:,}")  # fmt: skip
    row("bot peak resident memory (VmHWM)", lambda r: f"{r.bot_rss:,.0f} MiB")
    memory = f"{rasa_rss:,.0f} MiB" if rasa_rss is not None else "not measured (NLU_URL)"
    return "\n".join(rows) + f"\n\nRasa server peak resident memory (VmHWM, whole run): {memory}."


def machine(load: tuple[float, float, float], after: tuple[float, float, float]) -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} CPUs ({cpu}, nproc {len(os.sched_getaffinity(0))}), "
        f"Python {platform.python_version()}, {platform.system()}, load average "
        f"{load[0]:.1f} when the run started and {after[0]:.1f} when it ended"
    )


def update_doc(
    body: str, load: tuple[float, float, float], after: tuple[float, float, float]
) -> None:
    section = (
        f"{SECTION}\n\n"
        f"Measured by `python bench/e2e_bench.py` on {date.today().isoformat()}: "
        f"{machine(load, after)}.\n\n"
        "`wegwijs serve` runs as its own process against the fake Telegram Bot API of the test "
        "suite (`tests/fakes/telegram_api.py`: real HTTP, long polling, in the benchmark's "
        "process) and a real Rasa server. Simulated parents, a quarter each in nl, fr, en and ar "
        "(Darija in Arabic and in Latin letters included), send `/start`, then texts drawn from "
        "the held-out test split (`nlu/test_data`), and press an area button when the bot asks "
        "which part of Leuven; a parent sends its next message only after the bot's last reply "
        "to the previous one arrived (no reading time: a stress test). Latency: from the moment "
        "the update is available at the fake to the moment the bot's last reply to it arrives "
        "there. *Rasa alone*: the same texts, per parent in the same order, at the same "
        "concurrency, straight to `POST /model/parse` (one connection per parent, opened before "
        "the clock starts). Ratios are end to end over Rasa alone, for the median, the p95 and "
        "the mean. Goal: the bot adds under 20% to the NLU's time (ratios under 1.20). "
        "*deployed* is the bot as it runs in production; "
        "*unlimited* and *sequential* switch off python-telegram-bot's AIORateLimiter (30 "
        "messages a second, Telegram's limit) to show what the bot itself costs.\n\n"
        f"{body}\n\n"
        f"{NOTES_BEGIN}\n{NOTES_END}\n"
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    old = pattern.search(text)
    if old and NOTES_BEGIN in old.group(0) and NOTES_END in old.group(0):
        # The hand-written reading of the numbers between the markers survives a refresh.
        notes = old.group(0).split(NOTES_BEGIN, 1)[1].split(NOTES_END, 1)[0]
        section = section.replace(f"{NOTES_BEGIN}\n{NOTES_END}", f"{NOTES_BEGIN}{notes}{NOTES_END}")
    if old:
        text = pattern.sub(lambda _match: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")


# -- main ----------------------------------------------------------------------------------------


async def measure(
    scenario: Scenario, args: argparse.Namespace, rasa_url: str, rasa_pid: int | None
) -> Result:
    parents = make_parents(scenario.parents, scenario.messages, args.seed, FIRST_PARENT)
    with tempfile.TemporaryDirectory(prefix="e2e-bench-") as temp:
        data = Path(temp)
        replies = Replies(data / "state.db")
        async with RecordingTelegram(replies.on_sent) as fake:
            fake.add_group(STAFF, "Brugfiguren Leuven")
            profile = None
            if args.profile is not None:
                args.profile.mkdir(parents=True, exist_ok=True)
                profile = args.profile / f"{scenario.name}.prof"
            bot = Bot(
                data,
                fake.url,
                fake.token,
                rasa_url,
                unlimited=scenario.unlimited,
                profile=profile,
            )
            print(
                f"[{scenario.name}] building the social map, starting the bot ...", file=sys.stderr
            )
            bot.build_map()
            await bot.start()
            try:
                warm = make_parents(8, 6, args.seed + 1, FIRST_PARENT - 100)
                await run_parents(warm, 6, 8, fake, replies, args.seed, args.timeout)
                print(f"[{scenario.name}] end to end: {scenario.label} ...", file=sys.stderr)
                pids = {"bot": bot.pid, "rasa": rasa_pid, "bench": os.getpid()}
                before = {who: cpu_seconds(pid) for who, pid in pids.items()}
                dropped = listen_overflows()
                e2e_seconds = await run_parents(
                    parents,
                    scenario.messages,
                    scenario.concurrency,
                    fake,
                    replies,
                    args.seed,
                    args.timeout,
                )
                cpu = {who: cpu_seconds(pid) - before[who] for who, pid in pids.items()}
                e2e_dropped = listen_overflows() - dropped
                await asyncio.sleep(1.0)  # a reply arriving now would be one too many
                bot_rss = peak_rss_mib(bot.pid)
            finally:
                await bot.stop()
                replies.close()
            degraded = bot.log_lines(r"nlu unavailable")
            errors = bot.log_lines(r"\bERROR\b|\"level\": \"error\"")
            if args.keep_logs:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                log = (data / "bot.log").read_bytes()
                (args.keep_logs / f"{scenario.name}.log").write_bytes(log)
    print(f"[{scenario.name}] Rasa alone: the same texts ...", file=sys.stderr)
    pids = {"rasa": rasa_pid, "bench": os.getpid()}
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    dropped = listen_overflows()
    raw, raw_seconds, raw_failures = await rasa_alone(rasa_url, parents, scenario.concurrency)
    raw_cpu = {who: cpu_seconds(pid) - before[who] for who, pid in pids.items()}
    raw_dropped = listen_overflows() - dropped
    return Result(
        scenario=scenario,
        turns=[turn for parent in parents for turn in parent.turns],
        e2e_seconds=e2e_seconds,
        raw=raw,
        raw_seconds=raw_seconds,
        bot_rss=bot_rss,
        cpu=cpu,
        raw_cpu=raw_cpu,
        degraded=degraded,
        errors=errors,
        unexpected=len(replies.unexpected),
        guessed=replies.guessed,
        overflows=(e2e_dropped, raw_dropped),
        raw_failures=raw_failures,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=500)
    parser.add_argument("--messages", type=int, default=20, help="per parent, /start included")
    parser.add_argument("--concurrency", type=int, help="parents active at once (default: all)")
    parser.add_argument(
        "--sequential-parents", type=int, default=25, help="parents in the sequential scenario"
    )
    parser.add_argument(
        "--scenarios",
        type=lambda value: [name.strip() for name in value.split(",") if name.strip()],
        default=["deployed", "unlimited", "sequential"],
        help="comma-separated, from: deployed, unlimited, sequential (default: all three)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per reply")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument(
        "--profile", type=Path, help="diagnostic: cProfile the bot into DIR/<scenario>.prof"
    )
    parser.add_argument("--keep-logs", type=Path, help="copy the bot's logs into this folder")
    parser.add_argument("--rasa-pid", type=int, help="Rasa's pid when NLU_URL is set (memory)")
    args = parser.parse_args()
    if args.messages < 1 or args.parents < 1:
        parser.error("--parents and --messages must be at least 1")
    unknown = set(args.scenarios) - {"deployed", "unlimited", "sequential"}
    if unknown or not args.scenarios:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown)) or '(none given)'}")

    load = os.getloadavg()
    results = []
    with rasa(args.rasa_pid) as (url, pid):
        with httpx.Client(base_url=url, timeout=30) as http:  # Rasa's first parses are slow
            for pairs in evaluate.load_test_split().values():
                for _, text in pairs[:15]:
                    http.post("/model/parse", json={"text": text}).raise_for_status()
        for scenario in scenarios(args):
            results.append(asyncio.run(measure(scenario, args, url, pid)))
            print(latency_table(results[-1:]), file=sys.stderr)
        rasa_rss = peak_rss_mib(pid) if pid else None
    after = os.getloadavg()
    body = f"{latency_table(results)}\n\n{detail_table(results, rasa_rss)}"
    print(body)
    print(f"\n{machine(load, after)}", file=sys.stderr)
    for r in results:
        problems = {
            "replies arrived that no parent waited for": r.unexpected,
            "first replies had no queued siblings in the outbox": r.guessed,
            "ERROR lines in the bot's log": r.errors,
            "messages without all their replies": r.planned - r.answered,
            "connection attempts dropped by a full listen backlog": sum(r.overflows),
        }
        for problem, count in problems.items():
            if count:
                print(f"Warning [{r.scenario.name}]: {count} {problem}", file=sys.stderr)
    if not args.no_doc and args.profile is None:
        update_doc(body, load, after)
        print(f"Updated {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0 if all(r.complete for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
