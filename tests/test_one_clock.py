"""One clock: nothing in the bot reads the wall clock except :mod:`bot.clock`.

A row stamped with the wall clock and compared with the injected clock is how retention once
failed only after a certain date (issue 13). The date-sensitive suites run with the clock a
year away from today (``@any_date``); this test keeps new wall-clock reads from creeping in.
"""

from __future__ import annotations

import ast
from pathlib import Path

from bot.paths import PROJECT_ROOT

WALL_CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
}
# The only places allowed to read the wall clock, and why.
ALLOWED = {
    "bot/clock.py": "the one clock itself",
    # The map is a tool for editors: `map check` judges how old a fact is against today, and
    # `map find` without --at answers for now. The bot always passes its own clock's time.
    "social_map/loader.py": "editors' check of last_verified against today",
    "social_map/hours.py": "`at` defaults to now for the editors' CLI",
    "social_map/build.py": "the build's own timestamp",
}


def wall_clock_reads(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in WALL_CLOCK_READS
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    found = []
    for package in ("bot", "social_map"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            name = path.relative_to(PROJECT_ROOT).as_posix()
            if name in ALLOWED:
                continue
            found += [f"{name}:{line}" for line in wall_clock_reads(path)]
    assert found == [], "read the time from the injected clock (bot/clock.py) instead"


def test_the_check_finds_a_wall_clock_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import time\nfrom datetime import datetime\nx = datetime.now()\ny = time.time()\n"
    )
    assert wall_clock_reads(sample) == [3, 4]
