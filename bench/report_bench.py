"""Benchmark the network's report at 100,000 registrations (issue 17: under 5 seconds).

Fills a fresh state database with invented registrations (``bot.report.sample``: four school
years, themes, referred services, waiting times, unmet needs, check-back answers), then
builds the whole report as the command does (the counts, the suppression, the four charts, the
HTML and the CSV) several times and reports the median and the slowest, wall clock and CPU.
Prints a markdown table and refreshes the "Report" section of ``docs/benchmarks.md``.

Usage: ``python bench/report_bench.py [--registrations 100000] [--runs 5] [--no-doc]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import BRUSSELS
from bot.conversation.state import StateStore
from bot.report.figures import Filters, Period
from bot.report.render import build
from bot.report.sample import fill
from bot.report.signals import Signals

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Report"
YEARS = (2022, 2023, 2024, 2025)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    made = datetime(2026, 6, 1, 12, tzinfo=BRUSSELS)
    with tempfile.TemporaryDirectory() as tmp:
        state = StateStore(Path(tmp) / "state.db", lambda: made)
        # fill() grows the numbers over the years (0.6, 0.85, 1.1, 1.35 times per_year).
        per_year = round(args.registrations / sum(0.6 + 0.25 * n for n in range(len(YEARS))))
        started = time.perf_counter()
        written = fill(state, YEARS, per_year)
        filling = time.perf_counter() - started
        db, _ = state.connection
        in_year = db.execute(
            "SELECT COUNT(*) FROM registrations WHERE contact_on >= '2025-09-01'"
        ).fetchone()[0]
        walls, cpus = [], []
        for _ in range(args.runs):
            wall, cpu = time.perf_counter(), time.process_time()
            report = build(
                db,
                Signals(state),
                Period.parse_school_year("2025-2026"),
                Filters(),
                made=made,
                service_name=lambda sid: sid,
                school_name=lambda sid: sid,
            )
            html, table = report.html(), report.csv()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        state.close()
    rows = [
        ("registrations in the database (all years)", f"{written:,}"),
        ("of which in the reported school year 2025-2026", f"{in_year:,}"),
        ("filling the database", f"{filling:.1f} s"),
        ("report (counts, suppression, 4 charts, HTML, CSV): median / slowest", f"{statistics.median(walls):.2f} / {max(walls):.2f} s"),
        ("CPU time for one report: median", f"{statistics.median(cpus):.2f} s"),
        ("HTML / CSV size", f"{len(html) // 1024} KB / {len(table) // 1024} KB"),
    ]  # fmt: skip
    table_md = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table_md)
    if args.no_doc:
        return
    today = datetime.now(UTC).date().isoformat()
    section = (
        f"{SECTION}\n\n"
        f"Measured by `python bench/report_bench.py` on {today}: {os.cpu_count()} CPUs "
        f"({platform.machine()}), Python {platform.python_version()}, load average {load:.1f} "
        f"when the run started; {args.runs} runs.\n\n"
        "A state database with invented registrations over four school years (themes, referred "
        "services, waiting times, unmet needs, check-back answers); the whole report is built as "
        "`wegwijs report` builds it. Goal (issue 17): under 5 seconds at 100,000 registrations.\n\n"
        f"{table_md}\n\n"
        "Notes: the counting is one pass over each table, using the index on "
        "`registrations.contact_on` for the school year; the chart of themes over the years "
        "reads every year. Counting takes most of the time and grows with the registrations; "
        "suppression and drawing the charts do not (they see only the counted tables).\n"
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
