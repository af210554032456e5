"""The bridge workers, read from a YAML file that lives outside git (it names real people).

The file is small and edited by a coordinator, so every mistake is reported at once with the
worker and the field, and the bot refuses to start rather than route parents to nobody.
``bridge_workers.sample.yml`` (invented people) shows the format.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.paths import PROJECT_ROOT
from social_map.hours import check_expression, state_at
from social_map.schema import AREAS

LANGUAGES = ("nl", "ar", "fr", "en")
SAMPLE_FILE = PROJECT_ROOT / "bridge_workers.sample.yml"
DEFAULT_FILE = PROJECT_ROOT / "bridge_workers.yml"
_FIELDS = {
    "first_name",
    "languages",
    "schools",
    "areas",
    "hours",
    "telegram_user_id",
    "active",
    "coordinator",
}


class WorkersError(ValueError):
    """The bridge workers file cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class BridgeWorker:
    first_name: str
    languages: tuple[str, ...]
    telegram_user_id: int
    hours: str
    schools: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    active: bool = True
    coordinator: bool = False

    def on_duty(self, at: datetime) -> bool:
        return bool(state_at(self.hours, at).open_now)

    def next_on_duty(self, at: datetime) -> datetime | None:
        """When this worker's next working hours start (``at`` itself when on duty now)."""
        state = state_at(self.hours, at)
        if state.open_now:
            return at
        return state.next_change


@dataclass(frozen=True)
class Team:
    workers: tuple[BridgeWorker, ...]

    @property
    def active(self) -> tuple[BridgeWorker, ...]:
        return tuple(w for w in self.workers if w.active)

    @property
    def coordinators(self) -> tuple[BridgeWorker, ...]:
        return tuple(w for w in self.active if w.coordinator)

    def by_user(self, user_id: int | None) -> BridgeWorker | None:
        """The active worker with this Telegram user id: only they may act in the staff group."""
        return next((w for w in self.active if w.telegram_user_id == user_id), None)

    def anyone_on_duty(self, at: datetime) -> bool:
        return any(w.on_duty(at) for w in self.active)

    def next_on_duty(self, at: datetime) -> datetime | None:
        times = [t for w in self.active if (t := w.next_on_duty(at)) is not None]
        return min(times) if times else None


def workers_file() -> Path | None:
    """``WEGWIJS_BRIDGE_WORKERS``, else ``bridge_workers.yml`` in the project, else None."""
    configured = os.environ.get("WEGWIJS_BRIDGE_WORKERS")
    if configured:
        return Path(configured)
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


def load_team(path: Path) -> Team:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise WorkersError(
            f"{path}: cannot read the bridge workers file ({error.strerror})"
        ) from error
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as error:
        raise WorkersError(f"{path}: this is not valid YAML:\n{error}") from error
    return parse_team(data, Path(path))


def parse_team(data: Any, source: Path | None = None) -> Team:
    where = str(source or "bridge workers")
    if not isinstance(data, dict) or not isinstance(data.get("workers"), list):
        raise WorkersError(f"{where}: the file must have a list `workers:` (see the sample file)")
    problems: list[str] = []
    workers: list[BridgeWorker] = []
    seen_ids: set[int] = set()
    for index, item in enumerate(data["workers"], start=1):
        worker, errors = _parse_worker(item)
        label = f"worker {index}"
        if isinstance(item, dict) and item.get("first_name"):
            label += f" ({item['first_name']})"
        problems += [f"{where}: {label}: {error}" for error in errors]
        if worker is not None:
            if worker.telegram_user_id in seen_ids:
                problems.append(f"{where}: {label}: telegram_user_id is used twice")
            seen_ids.add(worker.telegram_user_id)
            workers.append(worker)
    if not problems and not any(w.active for w in workers):
        problems.append(f"{where}: no active bridge worker: set `active: true` for at least one")
    if problems:
        raise WorkersError("\n".join(problems))
    return Team(tuple(workers))


def _parse_worker(item: Any) -> tuple[BridgeWorker | None, list[str]]:
    if not isinstance(item, dict):
        return None, ["each worker must be a set of fields (first_name: ..., languages: ...)"]
    errors = [f"unknown field `{key}`" for key in item if key not in _FIELDS]
    name = item.get("first_name")
    if not isinstance(name, str) or not name.strip():
        errors.append("first_name is missing")
    languages = _string_list(item.get("languages"))
    if not languages:
        errors.append("languages is missing: a list such as [nl, ar]")
    errors += [
        f"unknown language `{code}` (use nl, ar, fr or en)"
        for code in languages
        if code not in LANGUAGES
    ]
    areas = _string_list(item.get("areas"))
    errors += [f"unknown area `{area}`" for area in areas if area not in AREAS]
    user_id = item.get("telegram_user_id")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        errors.append("telegram_user_id must be the worker's numeric Telegram user id")
    hours = item.get("hours")
    if not isinstance(hours, str) or not hours.strip():
        errors.append('hours is missing: working hours such as "Mo-Fr 09:00-17:00; PH off"')
    elif (problem := check_expression(hours)) is not None:
        errors.append(f"hours: {problem}")
    for flag in ("active", "coordinator"):
        if flag in item and not isinstance(item[flag], bool):
            errors.append(f"{flag} must be true or false")
    if errors:
        return None, errors
    return (
        BridgeWorker(
            first_name=str(name).strip(),
            languages=tuple(languages),
            telegram_user_id=int(user_id),
            hours=str(hours),
            schools=tuple(_string_list(item.get("schools"))),
            areas=tuple(areas),
            active=item.get("active", True),
            coordinator=item.get("coordinator", False),
        ),
        [],
    )


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []
