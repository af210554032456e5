"""Benchmark the desk: a busy desk's pages and live updates, and uploads at bounded memory.

A state database is filled with ``--handoffs`` handoffs (a third waiting, a third picked up,
a third closed), 10 messages each and their events. The desk app runs over real HTTP (uvicorn
on loopback, in this process); a signed-in worker then asks, ``--runs`` times each, for the
lists page, one handoff's page, and the poll that an open desk sends every few seconds (with
no news, and with 50 new events). Uploads: a 15 MB PDF (accepted) and a 50 MB one (refused
past the 16 MB limit), with the Python heap's peak (tracemalloc) and the process's peak RSS.

Prints a markdown table and refreshes the "Desk" section of ``docs/benchmarks.md``.

Usage: ``python bench/desk_bench.py [--handoffs 1000] [--runs 50] [--no-doc]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from argon2 import PasswordHasher
from starlette.applications import Starlette

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bot.conversation.messages import HandoffRequest, Incoming  # noqa: E402
from bot.conversation.state import StateStore  # noqa: E402
from bot.desk.auth import DeskSettings, Passwords  # noqa: E402
from bot.desk.web import DeskWeb  # noqa: E402
from bot.handoff.desk import HandoffDesk  # noqa: E402
from bot.handoff.files import DeskFiles  # noqa: E402
from bot.handoff.workers import SAMPLE_FILE, load_team  # noqa: E402
from fakes.serving import serving  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Desk"
AREAS = ("heverlee", "kessel-lo", "wilsele", "leuven-centrum", "wijgmaal")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Brussels"))

    def __call__(self) -> datetime:
        return self.now


def fill(desk: HandoffDesk, count: int) -> None:
    samira = desk.team.get("samira")
    for n in range(count):
        chat = f"bench-{n}"
        request = HandoffRequest("human_request", n % 17 == 0, "ar", area=AREAS[n % 5])
        handoff_id = desk.open(Incoming(chat, channel="whatsapp"), request, []).handoff_id
        handoff = desk.store.get(handoff_id)
        for m in range(10):
            desk.from_parent(
                handoff, Incoming(chat, f"bericht {m} van ouder {n}", channel="whatsapp")
            )  # type: ignore[arg-type]
        if n % 3:
            desk.pick_up(handoff_id, samira)
        if n % 3 == 2:
            desk.close(handoff_id, samira)


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"{statistics.median(values) * 1000:.1f} / {p95 * 1000:.1f} ms"


async def timed(client: httpx.AsyncClient, path: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = await client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return times


async def upload(
    client: httpx.AsyncClient, csrf: str, size: int, folder: Path
) -> tuple[int, float, float]:
    path = folder / f"upload-{size}.pdf"
    with path.open("wb") as out:
        out.write(b"%PDF-1.4\n")
        out.truncate(size)
    tracemalloc.start()
    start = time.perf_counter()
    with path.open("rb") as body:
        response = await client.post(
            "/desk/h/2/reply",
            data={"csrf": csrf, "text": "scan"},
            files={"file": ("scan.pdf", body, "application/pdf")},
        )
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    path.unlink()
    return response.status_code, seconds, peak / 2**20


async def run(handoffs: int, runs: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clock = Clock()
        state = StateStore(folder / "state.db")
        desk = HandoffDesk(
            state,
            load_team(SAMPLE_FILE),
            clock,
            staff_room=False,
            files=DeskFiles(state, folder / "files"),
        )
        started = time.perf_counter()
        fill(desk, handoffs)
        filled = time.perf_counter() - started
        web = DeskWeb(
            desk,
            settings=DeskSettings(secret="bench"),
            passwords=Passwords(
                state, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
            ),
        )
        web.passwords.set("nadia", "bench-password", clock())
        web.passwords.set("samira", "bench-password", clock())
        app = Starlette(routes=web.routes())
        rows: list[tuple[str, str]] = [
            (
                "handoffs in the database (open / closed)",
                f"{handoffs:,} ({handoffs - handoffs // 3:,} / {handoffs // 3:,})",
            ),
            ("transcript lines / events", f"{handoffs * 10:,} / {desk.events.latest():,}"),
            ("filling the database", f"{filled:.1f} s"),
        ]
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=120) as client:
            page = await client.get("/desk/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            await client.post(
                "/desk/login", data={"login": "nadia", "password": "bench-password", "csrf": token}
            )
            latest = desk.events.latest()
            rows.append(
                (
                    "lists page (coordinator: every open handoff), median / p95",
                    ms(await timed(client, "/desk/", runs)),
                )
            )
            rows.append(
                (
                    "one handoff's page (10 messages), median / p95",
                    ms(await timed(client, "/desk/h/2", runs)),
                )
            )
            rows.append(
                (
                    "poll, nothing new, median / p95",
                    ms(await timed(client, f"/desk/poll?after={latest}", runs)),
                )
            )
            rows.append(
                (
                    "poll, 50 new events, median / p95",
                    ms(await timed(client, f"/desk/poll?after={latest - 50}", runs)),
                )
            )
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=120) as client:
            # Samira has handoff 2 (picked up): she answers it with a file.
            page = await client.get("/desk/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            await client.post(
                "/desk/login", data={"login": "samira", "password": "bench-password", "csrf": token}
            )
            page = await client.get("/desk/h/2")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            status, seconds, peak = await upload(client, csrf, 15 * 2**20, folder)
            rows.append(
                (
                    "upload 15 MB PDF (accepted): time, Python heap peak",
                    f"{seconds:.2f} s, {peak:.1f} MB (HTTP {status})",
                )
            )
            status, seconds, peak = await upload(client, csrf, 50 * 2**20, folder)
            rows.append(
                (
                    "upload 50 MB PDF (refused past 16 MB): time, Python heap peak",
                    f"{seconds:.2f} s, {peak:.1f} MB (HTTP {status})",
                )
            )
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rows.append(
                (
                    "process peak RSS before / after both uploads (client and server)",
                    f"{rss_before:.0f} / {rss_after:.0f} MB",
                )
            )
        state.close()
        return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--handoffs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = asyncio.run(run(args.handoffs, args.runs))
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    if args.no_doc:
        return
    today = datetime.now(UTC).date().isoformat()
    section = (
        f"{SECTION}\n\n"
        f"Measured by `python bench/desk_bench.py` on {today}: {os.cpu_count()} CPUs "
        f"({platform.machine()}), Python {platform.python_version()}, {platform.system()}, load "
        f"average {load:.1f} when the run started.\n\n"
        "The desk app runs over real HTTP (uvicorn on loopback, in the benchmark's process) on a "
        "state database filled with handoffs (a third waiting, a third picked up, a third closed; "
        "10 parent messages each). A signed-in coordinator (who sees every handoff) asks for the "
        "lists page, one handoff's page, and the poll an open desk sends every 5 seconds. Then a "
        "15 MB and a 50 MB PDF are uploaded; the limit is 16 MB. Goal: pages and polls well under "
        "100 ms; an upload never held in memory.\n\n"
        f"{table}\n\n"
        "Notes: the Python heap peak covers client and server (both in this process) and stays "
        "around the 64 KB chunks the upload is read in, whatever the file's size; the 50 MB "
        "upload is read to its end (and dropped) so that the browser gets the desk's answer "
        "instead of a broken connection. A poll is one indexed query on the event log plus one "
        "for the worker's unread marks: with several workers polling every 5 seconds it stays a "
        "small fraction of one core.\n"
    )
    text = DOC.read_text(encoding="utf-8")
    if SECTION in text:
        start = text.index(SECTION)
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")
    print(f"updated {DOC}")


if __name__ == "__main__":
    main()
