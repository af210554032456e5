"""Check every social-map file and report ALL problems of ALL files in one run.

Editors are not programmers: one run must list every mistake with its file and line, in plain
words, so they can fix everything at once instead of playing whack-a-mole. Files without errors
become plain ``dict`` records (JSON-ready) for ``build``. The per-field checks live in
``checks``; this module finds the files, reads them, spots duplicate ids and, for large maps,
spreads the work over several processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from social_map.checks import FileChecker
from social_map.hours import BRUSSELS
from social_map.problems import Problem
from social_map.schema import EXPLAINERS_FOLDER, Record
from social_map.yaml_source import YamlSyntaxError, read_yaml

PARALLEL_THRESHOLD = 400
"""From this many files on, files are checked in several processes (YAML parsing is slow)."""


@dataclass
class FileResult:
    """What one file contributes: its problems, and its record when it has no errors."""

    path: str
    problems: list[Problem]
    record: Record | None
    service_id: str | None = None
    id_line: int = 1
    explainer: bool = False


@dataclass
class LoadResult:
    problems: list[Problem] = field(default_factory=list)
    services: list[Record] = field(default_factory=list)
    explainers: list[Record] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def brussels_today() -> date:
    return datetime.now(BRUSSELS).date()


def is_explainer(path: Path) -> bool:
    return path.parent.name == EXPLAINERS_FOLDER


def check_file(path: Path, display: str, today: date) -> FileResult:
    """Check one file; never raises for anything an editor can get wrong."""
    checker = FileChecker(display, path.stem, today)
    record = None
    explainer = is_explainer(path)
    if path.suffix != ".yml":
        checker.error(0, f'the file name must end in .yml, not "{path.suffix}": it was not read')
    else:
        try:
            doc = read_yaml(path)
            record = checker.check_explainer(doc) if explainer else checker.check(doc)
        except YamlSyntaxError as error:
            checker.error(error.line, error.message)
    problems = sorted(checker.problems, key=lambda problem: problem.line)
    return FileResult(display, problems, record, checker.service_id, checker.id_line, explainer)


def _check_file_args(args: tuple[Path, str, date]) -> FileResult:
    return check_file(*args)


# --- all files ----------------------------------------------------------------------------------


def display_path(path: Path) -> str:
    """Relative to the working directory when possible, as editors see it in their checkout."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def map_files(path: Path) -> list[Path]:
    """The map files under ``path`` (or ``path`` itself), sorted; hidden files are skipped."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or folder: {path}")
    found = [
        p
        for p in path.rglob("*")
        if p.suffix in (".yml", ".yaml")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    ]
    return sorted(found)


def _check_all(files: list[Path], today: date, workers: int | None) -> Iterator[FileResult]:
    jobs = [(p, display_path(p), today) for p in files]
    if workers is None:
        workers = (os.cpu_count() or 1) if len(jobs) >= PARALLEL_THRESHOLD else 1
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunk = max(1, min(64, len(jobs) // (4 * workers)))
            yield from pool.map(_check_file_args, jobs, chunksize=chunk)
    else:
        yield from map(_check_file_args, jobs)


def load_map(path: Path, *, today: date | None = None, workers: int | None = None) -> LoadResult:
    """Check ``path`` (a folder of ``<id>.yml`` files, or one file) and collect every problem.

    ``today`` is injectable so tests about "in the future" and "too old" do not depend on the
    calendar. ``workers`` > 1 checks the files in that many processes; by default large maps
    (``PARALLEL_THRESHOLD`` files or more) use every CPU.
    """
    today = today or brussels_today()
    files = map_files(path)
    result = LoadResult(files=[display_path(p) for p in files])
    if not files:
        result.problems.append(Problem(display_path(path), 0, "error", "no .yml files found"))
        return result
    first_use: dict[tuple[bool, str], FileResult] = {}
    for file_result in _check_all(files, today, workers):
        result.problems.extend(file_result.problems)
        duplicate = False
        if file_result.service_id is not None:
            key = (file_result.explainer, file_result.service_id)
            first = first_use.setdefault(key, file_result)
            if first is not file_result:
                duplicate = True
                result.problems.append(
                    Problem(
                        file_result.path,
                        file_result.id_line,
                        "error",
                        f'id "{file_result.service_id}" is already used in {first.path} '
                        f"(line {first.id_line}); every organisation needs its own id",
                    )
                )
        if file_result.record is not None and not duplicate:
            target = result.explainers if file_result.explainer else result.services
            target.append(file_result.record)
    result.problems.extend(check_references(result.services, result.explainers, today))
    return result


def check_references(
    services: list[Record], explainers: list[Record], today: date
) -> list[Problem]:
    """Across files: nothing may send parents to an entry that has ended or does not exist."""
    by_id = {record["id"]: record for record in services}
    problems: list[Problem] = []

    def ended(service_id: str) -> str | None:
        end = by_id[service_id]["end_date"]
        return end if end and end < today.isoformat() else None

    for record in services:
        target = record["replaced_by"]
        if target is None:
            continue
        if target not in by_id:
            problems.append(
                Problem(record["file"], 0, "warning", f'replaced_by "{target}": no such entry')
            )
        elif end := ended(target):
            problems.append(
                Problem(
                    record["file"],
                    0,
                    "warning",
                    f'replaced_by "{target}", which ended on {end}: point it to an entry '
                    "that still exists",
                )
            )
    for explainer in explainers:
        for target in explainer["services"]:
            if target not in by_id:
                problems.append(
                    Problem(explainer["file"], 0, "warning", f'service "{target}": no such entry')
                )
            elif end := ended(target):
                problems.append(
                    Problem(
                        explainer["file"],
                        0,
                        "warning",
                        f'service "{target}" ended on {end} and is no longer shown: '
                        "remove it here or name the service that took over",
                    )
                )
    return problems
