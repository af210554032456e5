"""NLU speed: training time from scratch, parse latency, and the Rasa server's memory.

    .venv/bin/python bench/nlu_bench.py [--skip-training]

Trains the multilingual model into a temporary folder (the cache in var/ is not touched),
serves it with the real Rasa server, sends every test-split message sequentially over HTTP
(three rounds), reads every long message of nlu/eval/ the way the bot does (the whole
message and each sentence, in parallel), and writes medians and percentiles into docs/nlu.md.
Training is reported as wall time and as CPU time: on a shared machine the wall time says
more about the neighbours than about the model.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bot.nlu import evalset, evaluate, training
from bot.nlu.client import NLUClient
from bot.nlu.server import LocalRasaServer
from bot.nlu.understand import Understander
from bot.paths import NLU_PROJECT

BEGIN, END = "<!-- nlu-bench:begin -->", "<!-- nlu-bench:end -->"


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (Rasa forks a worker), in MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):  # peak resident set size
                total += int(line.split()[1])
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def understand_all(url: str, texts: list[str]) -> list[float]:
    client = NLUClient(url, timeout=30.0)
    understander = Understander(client)
    latencies = []
    try:
        for text in texts:
            started = time.perf_counter()
            await understander.understand(text)
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        await client.aclose()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    lines = [
        BEGIN,
        f"Measured by `bench/nlu_bench.py` on {os.cpu_count()} cores, "
        f"Python {platform.python_version()} (bot), Rasa in nlu/.venv.",
        "",
    ]
    if not args.skip_training:
        load = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as tmp:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            training.rasa_train(NLU_PROJECT / "data", Path(tmp), "bench")
            seconds = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        lines.append(
            f"- Training from scratch (`rasa train nlu`, all four languages): "
            f"**{seconds:.0f} s** wall, {cpu:.0f} s CPU (load average {load:.1f} when it "
            "started; goal: a few minutes)."
        )
    model = training.train(quiet=True).model
    texts = [text for pairs in evaluate.load_test_split().values() for _, text in pairs]
    with LocalRasaServer(model) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        for text in texts[:50]:  # warm-up
            http.post("/model/parse", json={"text": text})
        latencies = []
        for _ in range(3):
            for text in texts:
                started = time.perf_counter()
                http.post("/model/parse", json={"text": text}).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
        long_texts = [m.text for m in evalset.load() if m.bucket == "long"]
        understood = asyncio.run(understand_all(server.url, long_texts))
        assert server.pid is not None
        memory = rss_mib(server.pid)
    lines += [
        f"- Parse latency over HTTP, sequential, {len(latencies)} calls: median "
        f"**{statistics.median(latencies):.1f} ms**, p95 {percentile(latencies, 0.95):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms (goal: median under 15 ms).",
        f"- Understanding a long message (3+ sentences; the whole and each sentence in "
        f"parallel, {len(understood)} messages of nlu/eval/): median "
        f"**{statistics.median(understood):.0f} ms**, p95 {percentile(understood, 0.95):.0f} ms.",
        f"- Rasa server peak resident memory: {memory:.0f} MiB.",
        END,
    ]
    section = "\n".join(lines)
    evaluate.write_doc(section, begin=BEGIN, end=END)
    print(section)


if __name__ == "__main__":
    main()
