"""One replica against two: throughput, latency and memory of ``wegwijs serve`` on one database.

Why: several replicas share their work through the database (claims, :mod:`bot.replicas`),
not through memory. That costs a few statements per message and per reply; this measures what
it costs and what a second replica gives back, on the engine given by ``--database-url``
(SQLite by default; PostgreSQL once the state store speaks it).

How: per scenario (``--replicas 1,2``), a fresh database (SQLite: a new file; PostgreSQL: the
URL as given, so give an empty database), then that many ``wegwijs serve`` processes in webhook
mode (WhatsApp) against the fake Graph API of the test suite (tests/fakes/graph_api.py) and one
Rasa server (``NLU_URL``, or started here from the latest model). ``--parents`` simulated
parents write at once, each ``--messages`` messages one after the other (the next when the
reply to the last has arrived), each message to the next replica in turn, as a load balancer
would. The messages are the commands the bot answers with exactly one message without Rasa
(``/privacy``, ``/mydata``, ``/language``): what is measured is the bot, its database and the
replicas' coordination, not the NLU (bench/e2e_bench.py measures the NLU's share).

Latency: from the webhook's POST to the reply arriving at the fake. Throughput: messages per
second over the whole burst. Memory: the peak resident size (VmHWM) of each bot process.

Usage: ``python bench/replicas_bench.py [--database-url sqlite:///... | postgresql://...]
[--replicas 1,2] [--parents 60] [--messages 6]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fakes and the process helper live with the tests

from processes import ServeProcess, serve_env  # noqa: E402

from fakes.graph_api import FakeGraph  # noqa: E402

COMMANDS = ("/privacy", "/mydata", "/language")
WA_PATH = "/whatsapp/webhook"


@dataclass
class Result:
    replicas: int
    messages: int
    seconds: float
    latencies: list[float]
    peak_mib: list[float]

    def line(self) -> str:
        lat = sorted(self.latencies)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        return (
            f"| {self.replicas} | {self.messages} | {self.messages / self.seconds:.1f} | "
            f"{statistics.median(lat) * 1000:.0f} | {p95 * 1000:.0f} | "
            f"{' + '.join(f'{m:.0f}' for m in self.peak_mib)} |"
        )


def database_env(url: str, scenario: int, scratch: Path) -> dict[str, str]:
    """The environment that points a replica at the database; SQLite gets a fresh file per
    scenario (in ``scratch`` unless the URL names one)."""
    if url.startswith("sqlite:///"):
        given = url.removeprefix("sqlite:///")
        path = f"{given}-{scenario}" if given else str(scratch / f"state-{scenario}.db")
        return {"WEGWIJS_STATE_DB": path}
    return {"WEGWIJS_DATABASE_URL": url}


@contextlib.contextmanager
def rasa_url() -> Iterator[str]:
    if os.environ.get("NLU_URL"):
        yield os.environ["NLU_URL"].rstrip("/")
        return
    from bot.nlu.server import LocalRasaServer
    from bot.nlu.training import latest_model

    model = latest_model()
    if model is None:
        raise SystemExit("no trained model: run `make nlu` first, or set NLU_URL")
    with LocalRasaServer(model) as server:
        yield server.url


def map_db() -> Path:
    from bot.paths import map_db_path

    path = map_db_path()
    if not path.exists():
        raise SystemExit(f"no social map at {path}: run `wegwijs map build` first")
    return path


async def scenario(
    replicas: int, url: str, nlu: str, args: argparse.Namespace, scratch: Path
) -> Result:
    async with FakeGraph() as graph:
        bots: list[ServeProcess] = []
        try:
            for n in range(replicas):
                env = serve_env(
                    scratch / f"r{replicas}-{n}",
                    map_db(),
                    NLU_URL=nlu,
                    WHATSAPP_TOKEN=graph.token,
                    WHATSAPP_PHONE_NUMBER_ID=graph.phone_number_id,
                    WHATSAPP_APP_SECRET=graph.app_secret,
                    WHATSAPP_VERIFY_TOKEN=graph.verify_token,
                    WHATSAPP_API_BASE_URL=graph.api_base_url,
                    **database_env(url, replicas, scratch),
                )
                env.pop("WEGWIJS_LOG_FORMAT", None)
                bot = ServeProcess(env, scratch / f"r{replicas}-{n}.log")
                bots.append(bot)
                await bot.start(120)
            latencies: list[float] = []
            turn = 0
            async with httpx.AsyncClient(timeout=60) as http:

                async def parent(wa_id: str) -> None:
                    nonlocal turn
                    for m in range(args.messages):
                        command = COMMANDS[m % len(COMMANDS)]
                        _, body = graph.message_webhook(
                            wa_id, {"type": "text", "text": {"body": command}}
                        )
                        bot = bots[turn % len(bots)]
                        turn += 1
                        began = time.perf_counter()
                        response = await http.post(
                            bot.url + WA_PATH,
                            content=body,
                            headers={
                                "Content-Type": "application/json",
                                "X-Hub-Signature-256": graph.sign(body),
                            },
                        )
                        response.raise_for_status()
                        await graph.wait_for_messages(wa_id, 1, timeout=120)
                        latencies.append(time.perf_counter() - began)

                parents = [f"3249{n:07d}" for n in range(args.parents)]
                began = time.perf_counter()
                await asyncio.gather(*(parent(p) for p in parents))
                seconds = time.perf_counter() - began
            peaks = [bot.peak_memory_kb() / 1024 for bot in bots]
        finally:
            for bot in bots:
                bot.stop()
    return Result(replicas, len(latencies), seconds, latencies, peaks)


async def main(args: argparse.Namespace) -> None:
    counts = [int(n) for n in args.replicas.split(",")]
    with tempfile.TemporaryDirectory(prefix="wegwijs-replicas-") as tmp, rasa_url() as nlu:
        scratch = Path(tmp)
        results = [await scenario(n, args.database_url, nlu, args, scratch) for n in counts]
    engine = args.database_url.split(":", 1)[0]
    print(
        f"Engine: {engine}; {args.parents} parents x {args.messages} messages; "
        f"{os.cpu_count()} CPU(s)"
    )
    print("| replicas | messages | per second | median ms | p95 ms | peak RSS MiB per replica |")
    print("|---|---|---|---|---|---|")
    for result in results:
        print(result.line())


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="sqlite:///", help="default: a fresh SQLite file")
    parser.add_argument("--replicas", default="1,2", help="scenarios: replicas per run")
    parser.add_argument("--parents", type=int, default=60)
    parser.add_argument("--messages", type=int, default=6)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
