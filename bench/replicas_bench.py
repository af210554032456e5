"""SQLite against PostgreSQL, one replica against two: ``wegwijs serve`` with the real Rasa.

Why: several replicas share their work through the database (claims, :mod:`bot.replicas`),
not through memory, and PostgreSQL is a server on the other side of a socket where SQLite is
a file in the process. Both cost something per message; this measures what, next to what the
NLU costs (Rasa is still the expensive step), and what a second replica gives back.

How, in one run, for each scenario (default ``sqlite:1,postgres:1,postgres:2``: the engine and
how many replicas), ``--rounds`` times, the scenarios taking turns so that a slow minute of
this shared machine does not land on one of them:

1. A fresh state database: a new SQLite file, or a new database on a throwaway PostgreSQL
   server (tests/postgres.py: Debian's binaries, as the tests use it; ``--postgres-url`` uses
   a server of your own instead, and each scenario then needs its own empty database, so give
   the URL of a database you can drop and the bench makes ``<name>_<n>`` next to it).
2. That many ``wegwijs serve`` processes in webhook mode (WhatsApp) against the fake Graph API
   of the test suite (tests/fakes/graph_api.py) and one real Rasa server (``NLU_URL``, or
   started here from the latest model). Every webhook delivery goes to the next replica in
   turn, as a round-robin load balancer would (as in tests/test_replicas.py): a parent's
   messages alternate between the replicas.
3. ``--parents`` simulated parents (a quarter each in nl, fr, en, ar) write at once, each
   ``--messages`` messages: ``/start``, then texts drawn from the held-out test split
   (nlu/test_data), and an area choice when the bot asks which part of Leuven (the same
   parents as bench/e2e_bench.py). A parent writes its next message when every reply to the
   last one has arrived (no reading time: a stress test). How many replies a message gets is
   not guessed: when the first arrives at the fake, the bench reads that chat's queued replies
   in the state database (the bot queues all of them before it sends the first) and counts
   the Graph API messages each becomes (:func:`bot.channels.whatsapp.convert.reply_messages`).
4. *Rasa alone*: the same texts, per parent in the same order, at the same concurrency,
   straight to Rasa's ``POST /model/parse`` (bench/e2e_bench.py's :func:`rasa_alone`).

Latency: from the webhook's POST to the last reply arriving at the fake; the ratios are for
the texts (the messages that need Rasa). Throughput: answered messages per second over the
burst. Memory: the peak resident size (VmHWM) of each bot process. CPU: per answered message,
of the bots, PostgreSQL (the postmaster and its backends) and Rasa.

Usage: ``python bench/replicas_bench.py [--scenarios sqlite:1,postgres:1,postgres:2]
[--parents 100] [--messages 10] [--sequential-parents 10] [--rounds 3] [--doc]``; ``--doc``
writes the section "Replicas and PostgreSQL" of docs/benchmarks.md (its hand-written notes
are kept). A quick look: ``--parents 8 --messages 4 --sequential-parents 3 --rounds 1``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fakes, the process helper, the PostgreSQL server
sys.path.insert(0, str(ROOT / "bench"))

from e2e_bench import (  # noqa: E402
    Parent,
    Turn,
    cpu_seconds,
    make_parents,
    peak_rss_mib,
    percentile,
    rasa_alone,
)
from postgres import PostgresServer  # noqa: E402
from processes import ServeProcess, serve_env  # noqa: E402

from bot.channels.whatsapp.convert import reply_messages  # noqa: E402
from bot.conversation.i18n import Lang  # noqa: E402
from fakes.graph_api import FakeGraph, JSONDict  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Replicas and PostgreSQL (WhatsApp webhooks)"
NOTES_BEGIN = "<!-- replicas-notes: written by hand, kept when the numbers are refreshed -->"
NOTES_END = "<!-- replicas-notes:end -->"
WA_PATH = "/whatsapp/webhook"
FIRST_PARENT = 32_490_000_000
PENDING = (
    "SELECT id, action, payload FROM outbox WHERE lane = 'parent' AND key = {p} "
    "AND status = 'pending' AND id > {p} ORDER BY id"
)


# -- the database ---------------------------------------------------------------------------------


class Outbox:
    """A read-only look at the bots' outbox: how many Graph API messages the replies queued for
    a chat will make. SQLite read-only by file, PostgreSQL with a connection of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sqlite: sqlite3.Connection | None = None
        self._pg: psycopg.Connection[Any] | None = None
        self.queries = 0  # on PostgreSQL: transactions that are the bench's, not the bots'

    def pending(self, key: str, after: int) -> list[tuple[int, str, str]]:
        if self.url.startswith("sqlite:///"):
            if self._sqlite is None:
                path = self.url.removeprefix("sqlite:///")
                self._sqlite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            return list(self._sqlite.execute(PENDING.format(p="?"), (key, after)))
        if self._pg is None:
            self._pg = psycopg.connect(self.url, autocommit=True)
        self.queries += 1
        return list(self._pg.execute(PENDING.format(p="%s"), (key, after)).fetchall())

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None:
            self._pg.close()


def messages_for(action: str, payload: str) -> int:
    """The Graph API messages one outbox item becomes (a long text or many choices: several)."""
    if action != "reply":
        return 1
    data = json.loads(payload)
    choices = [(label, value) for row in data.get("buttons") or [] for label, value in row]
    return len(reply_messages(data["text"], choices, Lang("nl")))


def transactions(url: str) -> int:
    """Transactions committed or rolled back in the database, once its bots have stopped (a
    backend reports its counts when it ends; one that still lives may hold some back). In
    autocommit, as the bot works outside its explicit transactions, every statement is one:
    this is about how many round trips to PostgreSQL a message costs."""
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        for _ in range(50):  # until the bots' backends are gone (they flush their counts)
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchone()
            if row is None or row[0] == 0:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        row = connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    return int(row[0]) if row else 0


def postmaster_pid(server: PostgresServer | None) -> int | None:
    if server is None:
        return None
    with contextlib.suppress(OSError, ValueError):
        return int((server.data / "postmaster.pid").read_text().split()[0])
    return None


# -- the replies ------------------------------------------------------------------------------------


class Replies:
    """Matches what the bots send to the parent message it answers (see the module docstring)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.open: dict[str, Turn] = {}
        self.counted: dict[str, int] = {}  # chat -> highest outbox id already counted
        self.unexpected = 0
        self.guessed = 0  # a first reply whose queued items were not found

    def on_sent(self, wa_id: str, message: JSONDict) -> None:
        now = time.perf_counter()
        turn = self.open.get(wa_id)
        if turn is None:
            self.unexpected += 1
            return
        if turn.expected is None:
            rows = self.outbox.pending(f"whatsapp:{wa_id}", self.counted.get(wa_id, 0))
            if rows:
                self.counted[wa_id] = max(row[0] for row in rows)
                turn.expected = sum(messages_for(action, payload) for _, action, payload in rows)
            else:
                self.guessed += 1
                turn.expected = 1
            turn.first_at = now
        turn.replies.append(message)
        if len(turn.replies) >= turn.expected:
            turn.done_at = now
            del self.open[wa_id]
            turn.done.set()


class Recording(list):  # type: ignore[type-arg]
    """The fake's list of delivered messages, telling :class:`Replies` of each as it lands."""

    def __init__(self, replies: Replies) -> None:
        super().__init__()
        self.replies = replies

    def append(self, item: tuple[str, JSONDict]) -> None:
        super().append(item)
        self.replies.on_sent(*item)


def area_choice(message: JSONDict, rng: random.Random) -> JSONDict | None:
    """The parent's answer when ``message`` offers areas: a button or a list row, as Meta
    sends it (with the message it answers as context)."""
    content = message.get("interactive") or {}
    if content.get("type") == "button":
        options = [(b["reply"], "button_reply") for b in content["action"]["buttons"]]
    else:
        rows = [r for s in content.get("action", {}).get("sections", []) for r in s["rows"]]
        options = [(r, "list_reply") for r in rows]
    areas = [(o, kind) for o, kind in options if str(o.get("id", "")).startswith("area:")]
    if not areas:
        return None
    option, kind = rng.choice(areas)
    return {
        "context": {"id": message["id"]},
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": option["id"], "title": option["title"]}},
    }


@dataclass
class Balancer:
    """Round robin over the replicas, per webhook delivery (not per parent)."""

    graph: FakeGraph
    urls: list[str]
    http: httpx.AsyncClient
    turn: int = 0

    async def deliver(self, wa_id: str, fields: JSONDict) -> None:
        _, body = self.graph.message_webhook(wa_id, fields)
        url = self.urls[self.turn % len(self.urls)] + WA_PATH
        self.turn += 1
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": self.graph.sign(body)}
        (await self.http.post(url, content=body, headers=headers)).raise_for_status()


async def converse(
    parent: Parent,
    messages: int,
    balancer: Balancer,
    replies: Replies,
    rng: random.Random,
    timeout: float,
) -> None:
    """/start, then texts; an area when asked. Waits for every reply to each message."""
    wa_id = str(parent.chat_id)
    texts = iter(parent.texts)
    last: JSONDict | None = None
    for step in range(messages):
        choice = area_choice(last, rng) if last is not None else None
        if step == 0:
            turn = Turn(parent.chat_id, "command", "/start")
            fields: JSONDict = {"type": "text", "text": {"body": "/start"}}
        elif choice is not None:
            turn = Turn(parent.chat_id, "button", choice["interactive"]["type"])
            fields = choice
        else:
            turn = Turn(parent.chat_id, "text", next(texts))
            fields = {"type": "text", "text": {"body": turn.text}}
        replies.open[wa_id] = turn
        parent.turns.append(turn)
        turn.queued = time.perf_counter()
        await balancer.deliver(wa_id, fields)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(turn.done.wait(), timeout)
        if turn.done_at is None:
            replies.open.pop(wa_id, None)
            last = None
            continue
        last = turn.replies[-1]


# -- one scenario ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    engine: str  # sqlite, postgres
    replicas: int

    @property
    def name(self) -> str:
        return f"{self.engine}:{self.replicas}"

    @property
    def label(self) -> str:
        engine = "SQLite" if self.engine == "sqlite" else "PostgreSQL"
        return f"{self.replicas} replica{'s' if self.replicas > 1 else ''}, {engine}"


@dataclass
class Round:
    turns: list[Turn]
    seconds: float
    raw: list[float]
    raw_seconds: float
    peaks_mib: list[float]
    cpu: dict[str, float]
    guessed: int
    unexpected: int
    planned: int
    commits_per_message: float | None = None  # PostgreSQL: the database's whole life

    def latencies(self, *kinds: str) -> list[float]:
        return [t.latency_ms for t in self.turns if t.latency_ms is not None and t.kind in kinds]  # type: ignore[misc]

    @property
    def answered(self) -> int:
        return sum(1 for t in self.turns if t.done_at is not None)

    @property
    def throughput(self) -> float:
        return self.answered / self.seconds

    @property
    def raw_throughput(self) -> float:
        return len(self.raw) / self.raw_seconds


@dataclass
class Context:
    args: argparse.Namespace
    scratch: Path
    nlu: str
    rasa_pid: int | None
    map_db: Path
    postgres: PostgresServer | None
    results: dict[tuple[Scenario, str], list[Round]] = field(default_factory=dict)
    databases: int = 0

    def database(self, scenario: Scenario) -> str:
        self.databases += 1
        if scenario.engine == "sqlite":
            return f"sqlite:///{self.scratch / f'state-{self.databases}.db'}"
        if self.postgres is not None:
            return self.postgres.new_database()
        url = self.args.postgres_url
        with psycopg.connect(url, autocommit=True) as connection:
            name = f"{url.rsplit('/', 1)[1]}_{self.databases}"
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"{url.rsplit('/', 1)[0]}/{name}"


def database_env(url: str) -> dict[str, str]:
    if url.startswith("sqlite:///"):
        return {"WEGWIJS_STATE_DB": url.removeprefix("sqlite:///")}
    return {"WEGWIJS_DATABASE_URL": url}


async def burst(
    parents: list[Parent],
    concurrency: int,
    args: argparse.Namespace,
    balancer: Balancer,
    replies: Replies,
) -> float:
    """The parents' conversations, ``concurrency`` at once; returns the wall time."""
    limit = asyncio.Semaphore(concurrency)

    async def one(parent: Parent) -> None:
        async with limit:
            rng = random.Random(args.seed * 1_000_003 + parent.chat_id)
            await converse(parent, len(parent.texts) + 1, balancer, replies, rng, args.timeout)

    began = time.perf_counter()
    await asyncio.gather(*(one(p) for p in parents))
    return time.perf_counter() - began


MODES = ("all at once", "one at a time")


async def measure(scenario: Scenario, n: int, ctx: Context) -> dict[str, Round]:
    """One round of a scenario: the burst (every parent at once), then, on the same bots,
    ``--sequential-parents`` one at a time (what a message costs without any queueing)."""
    args = ctx.args
    url = ctx.database(scenario)
    outbox = Outbox(url)
    replies = Replies(outbox)
    bots: list[ServeProcess] = []
    loads = {
        MODES[0]: make_parents(args.parents, args.messages, args.seed, FIRST_PARENT),
        MODES[1]: make_parents(
            args.sequential_parents, args.messages, args.seed + 2, FIRST_PARENT + 100_000
        ),
    }
    measured: dict[str, tuple[float, dict[str, float]]] = {}
    async with FakeGraph() as graph:
        graph._delivered = Recording(replies)  # type: ignore[assignment]
        try:
            for r in range(scenario.replicas):
                where = ctx.scratch / f"{scenario.engine}-{scenario.replicas}-{n}-{r}"
                env = serve_env(
                    where,
                    ctx.map_db,
                    NLU_URL=ctx.nlu,
                    WHATSAPP_TOKEN=graph.token,
                    WHATSAPP_PHONE_NUMBER_ID=graph.phone_number_id,
                    WHATSAPP_APP_SECRET=graph.app_secret,
                    WHATSAPP_VERIFY_TOKEN=graph.verify_token,
                    WHATSAPP_API_BASE_URL=graph.api_base_url,
                    **database_env(url),
                )
                env.pop("WEGWIJS_LOG_FORMAT", None)
                bot = ServeProcess(env, where.with_suffix(".log"))
                bots.append(bot)
                await bot.start(180)
            pids: dict[str, list[int | None]] = {
                "bots": [bot.pid for bot in bots],
                "postgres": [postmaster_pid(ctx.postgres)] if scenario.engine != "sqlite" else [],
                "rasa": [ctx.rasa_pid],
                "bench": [os.getpid()],
            }
            async with httpx.AsyncClient(timeout=args.timeout) as http:
                balancer = Balancer(graph, [bot.url for bot in bots], http)
                warm = make_parents(8, 5, args.seed + 1, FIRST_PARENT - 1000)
                await burst(warm, len(warm), args, balancer, replies)
                for mode, parents in loads.items():
                    if not parents:
                        continue
                    before = {w: sum(cpu_seconds(p) for p in ps) for w, ps in pids.items()}
                    at_once = len(parents) if mode == MODES[0] else 1
                    seconds = await burst(parents, at_once, args, balancer, replies)
                    cpu = {w: sum(cpu_seconds(p) for p in ps) - before[w] for w, ps in pids.items()}
                    measured[mode] = seconds, cpu
                await asyncio.sleep(1.0)  # a reply arriving now is one too many
            peaks = [peak_rss_mib(bot.pid) for bot in bots]
        finally:
            for bot in bots:
                bot.stop()
            outbox.close()
    commits = None
    if not url.startswith("sqlite"):
        handled = 8 * 5 + sum(len(p.turns) for ps in loads.values() for p in ps)
        commits = (transactions(url) - outbox.queries) / handled
        if ctx.postgres is not None:
            ctx.postgres.drop_database(url)
    rounds = {}
    for mode, (seconds, cpu) in measured.items():
        parents = loads[mode]
        at_once = len(parents) if mode == MODES[0] else 1
        raw, raw_seconds, _ = await rasa_alone(ctx.nlu, parents, at_once)
        rounds[mode] = Round(
            turns=[t for p in parents for t in p.turns],
            seconds=seconds,
            raw=raw,
            raw_seconds=raw_seconds,
            peaks_mib=peaks,
            cpu=cpu,
            guessed=replies.guessed if mode == MODES[0] else 0,
            unexpected=replies.unexpected if mode == MODES[0] else 0,
            planned=len(parents) * args.messages,
            commits_per_message=commits,
        )
    return rounds


# -- the report ----------------------------------------------------------------------------------


def _med(values: list[float]) -> float:
    return statistics.median(values)


def _span(values: list[float], fmt: str) -> str:
    """The median of the rounds, and their range when there are several."""
    middle = format(_med(values), fmt)
    if len(values) < 2:
        return middle
    return f"{middle} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def by_mode(
    results: dict[tuple[Scenario, str], list[Round]],
) -> list[tuple[tuple[Scenario, str], list[Round]]]:
    """All at once first, then one at a time; the scenarios in their order within each."""
    return sorted(results.items(), key=lambda item: MODES.index(item[0][1]))


def table(results: dict[tuple[Scenario, str], list[Round]]) -> str:
    rows = [
        "| scenario | answered | throughput, messages/s | texts: median / p95 | Rasa alone, same "
        "texts: median / p95 | ratio, median | ratio, p95 | throughput: Rasa alone, parses/s | "
        "bot peak RSS per replica | CPU per message: bots / PostgreSQL / Rasa / bench |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (scenario, mode), rounds in by_mode(results):
        answered = sum(r.answered for r in rounds)
        planned = sum(r.planned for r in rounds)
        texts = [r.latencies("text") for r in rounds]
        med = [percentile(t, 0.5) for t in texts]
        p95 = [percentile(t, 0.95) for t in texts]
        raw_med = [percentile(r.raw, 0.5) for r in rounds]
        raw_p95 = [percentile(r.raw, 0.95) for r in rounds]
        ratio_med = [a / b for a, b in zip(med, raw_med, strict=True)]
        ratio_p95 = [a / b for a, b in zip(p95, raw_p95, strict=True)]
        peaks = [max(r.peaks_mib) for r in rounds]
        per = {
            who: _med([1000 * r.cpu[who] / max(r.answered, 1) for r in rounds])
            for who in ("bots", "postgres", "rasa", "bench")
        }
        pg = f"{per['postgres']:.1f}" if scenario.engine != "sqlite" else "-"
        rows.append(
            f"| {scenario.label}, {mode} | {answered:,} of {planned:,} | "
            f"{_span([r.throughput for r in rounds], '.1f')} | "
            f"{_med(med):,.0f} / {_med(p95):,.0f} ms | {_med(raw_med):,.0f} / {_med(raw_p95):,.0f} ms | "
            f"**{_med(ratio_med):.2f}** | **{_med(ratio_p95):.2f}** | "
            f"{_span([r.raw_throughput for r in rounds], '.0f')} | "
            f"{_span(peaks, '.0f')} MiB | {per['bots']:.1f} / {pg} / {per['rasa']:.1f} / {per['bench']:.1f} ms |"
        )
    return "\n".join(rows)


def detail(results: dict[tuple[Scenario, str], list[Round]]) -> str:
    rows = ["| scenario | /start and area choices (no NLU): median / p95 | PostgreSQL "
            "transactions per message | round by round: throughput (messages/s), text median "
            "(ms), ratio median |", "|---|---|---|---|"]  # fmt: skip
    for (scenario, mode), rounds in by_mode(results):
        no_nlu = [r.latencies("command", "button") for r in rounds]
        counted = [r.commits_per_message for r in rounds if r.commits_per_message is not None]
        commits = f"{_med(counted):.0f}" if counted else "-"
        each = "; ".join(
            f"{r.throughput:.1f}, {percentile(r.latencies('text'), 0.5):,.0f}, "
            f"{percentile(r.latencies('text'), 0.5) / percentile(r.raw, 0.5):.2f}"
            for r in rounds
        )
        rows.append(
            f"| {scenario.label}, {mode} | {_med([percentile(x, 0.5) for x in no_nlu]):,.0f} / "
            f"{_med([percentile(x, 0.95) for x in no_nlu]):,.0f} ms | {commits} | {each} |"
        )
    return "\n".join(rows)


def machine(load: tuple[float, ...], after: tuple[float, ...]) -> str:
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}, nproc {len(os.sched_getaffinity(0))}), "
        f"Python {platform.python_version()}, {platform.system()}, load average {load[0]:.1f} "
        f"when the run started and {after[0]:.1f} when it ended"
    )


def commit() -> str:
    """The commit measured (and whether the bot's code differed from it)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' with uncommitted changes to bot/' if dirty else ''}" if head else "unknown"


def update_doc(body: str, args: argparse.Namespace, where: str, took: float) -> None:
    section = (
        f"{SECTION}\n\n"
        f"Measured by `python bench/replicas_bench.py {' '.join(sys.argv[1:])}` on "
        f"{date.today().isoformat()} at commit {commit()} "
        f"({took / 60:.0f} minutes): {where}.\n\n"
        "One run, side by side: for each scenario a fresh state database (a SQLite file; a new "
        "database on a throwaway PostgreSQL server, Debian's binaries as in the tests, fsync "
        "off), that many `wegwijs serve` processes in webhook mode (WhatsApp) against the fake "
        "Graph API of the test suite and one real Rasa server, shared by all. The bench is the "
        "load balancer: each webhook delivery goes to the next replica in turn, so a parent's "
        f"messages alternate between replicas. *All at once*: {args.parents} parents (a quarter "
        f"each in nl, fr, en, ar) write at once, {args.messages} messages each: `/start`, then texts from "
        "the held-out test split, an area when the bot asks; the next message when every reply "
        "to the last has arrived (no reading time). *One at a time*: then, on the same bots, "
        f"{args.sequential_parents} other parents, one after the other (what a message costs "
        "without queueing). Latency: from the webhook's POST to the "
        "last reply at the fake. *Rasa alone*: the same texts, per parent in the same order, "
        "at the same concurrency, straight to `POST /model/parse`, right after each scenario. "
        f"The scenarios take turns, {args.rounds} rounds; every figure is the median of the "
        "rounds (their range in brackets). CPU per answered message: all bot processes "
        "together, PostgreSQL's postmaster and backends, Rasa, and the bench's own process (the "
        "fake Graph API and the parents). PostgreSQL transactions per message: committed and "
        "rolled back in the scenario's database over its whole life (start-up and warm-up "
        "included), less the bench's own queries, per message handled.\n\n"
        f"{body}\n\n{NOTES_BEGIN}\n{NOTES_END}\n"
    )
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    old = pattern.search(text)
    if old and NOTES_BEGIN in old.group(0) and NOTES_END in old.group(0):
        notes = old.group(0).split(NOTES_BEGIN, 1)[1].split(NOTES_END, 1)[0]
        section = section.replace(f"{NOTES_BEGIN}\n{NOTES_END}", f"{NOTES_BEGIN}{notes}{NOTES_END}")
    if old:
        text = pattern.sub(lambda _match: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")


# -- main ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def rasa() -> Iterator[tuple[str, int | None]]:
    if os.environ.get("NLU_URL"):
        yield os.environ["NLU_URL"].rstrip("/"), None
        return
    from bot.nlu.server import LocalRasaServer
    from bot.nlu.training import latest_model

    model = latest_model()
    if model is None:
        raise SystemExit("no trained model: run `make nlu` first, or set NLU_URL")
    with LocalRasaServer(model) as server:
        yield server.url, server.pid


@contextlib.contextmanager
def postgres(
    args: argparse.Namespace, scenarios: list[Scenario]
) -> Iterator[PostgresServer | None]:
    if args.postgres_url or all(s.engine == "sqlite" for s in scenarios):
        yield None
        return
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def map_db() -> Path:
    from bot.paths import map_db_path

    path = map_db_path()
    if not path.exists():
        raise SystemExit(f"no social map at {path}: run `wegwijs map build` first")
    return path


async def run(args: argparse.Namespace, ctx: Context, scenarios: list[Scenario]) -> None:
    with httpx.Client(base_url=ctx.nlu, timeout=30) as http:  # Rasa's first parses are slow
        for text in ("hallo", "bonjour", "hello", "مرحبا") * 5:
            http.post("/model/parse", json={"text": text}).raise_for_status()
    for n in range(args.rounds):
        for scenario in scenarios:
            print(f"round {n + 1}: {scenario.label} ...", file=sys.stderr)
            for mode, result in (await measure(scenario, n, ctx)).items():
                ctx.results.setdefault((scenario, mode), []).append(result)
                print(
                    f"  {mode}: {result.answered} answered, {result.throughput:.1f}/s, text "
                    f"median {percentile(result.latencies('text'), 0.5):.0f} ms, Rasa alone "
                    f"{percentile(result.raw, 0.5):.0f} ms, peaks {result.peaks_mib}",
                    file=sys.stderr,
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="sqlite:1,postgres:1,postgres:2")
    parser.add_argument("--parents", type=int, default=100)
    parser.add_argument("--messages", type=int, default=10, help="per parent, /start included")
    parser.add_argument(
        "--sequential-parents", type=int, default=10, help="then one at a time (0: none)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per reply")
    parser.add_argument("--postgres-url", help="a database of your own server (see above)")
    parser.add_argument("--doc", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args()
    scenarios = []
    for item in args.scenarios.split(","):
        engine, _, count = item.strip().partition(":")
        if engine not in ("sqlite", "postgres") or not count.isdigit() or int(count) < 1:
            parser.error(f"a scenario is sqlite:<n> or postgres:<n>, got {item!r}")
        scenarios.append(Scenario(engine, int(count)))
    load, began = os.getloadavg(), time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="wegwijs-replicas-") as tmp,
        rasa() as (nlu, rasa_pid),
        postgres(args, scenarios) as server,
    ):
        ctx = Context(args, Path(tmp), nlu, rasa_pid, map_db(), server)
        asyncio.run(run(args, ctx, scenarios))
        rasa_rss = peak_rss_mib(rasa_pid) if rasa_pid else None
    where = machine(load, os.getloadavg())
    body = f"{table(ctx.results)}\n\n{detail(ctx.results)}"
    if rasa_rss is not None:
        body += f"\n\nRasa server peak resident memory (VmHWM, whole run): {rasa_rss:,.0f} MiB."
    print(body)
    print(where, file=sys.stderr)
    complete = True
    for (scenario, mode), rounds in ctx.results.items():
        for r in rounds:
            problems = {
                "messages without all their replies": r.planned - r.answered,
                "replies nobody waited for": r.unexpected,
                "first replies without queued items in the outbox": r.guessed,
            }
            for problem, count in problems.items():
                if count:
                    complete = False
                    print(f"Warning [{scenario.name}, {mode}]: {count} {problem}", file=sys.stderr)
    if args.doc:
        update_doc(body, args, where, time.monotonic() - began)
        print(f"Updated {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
