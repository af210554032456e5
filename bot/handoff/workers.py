"""The bridge workers, read from a YAML file that lives outside git (it names real people).

The file is small and edited by a coordinator, so every mistake is reported at once with the
worker and the field, and the bot refuses to start rather than route parents to nobody.
``bridge_workers.sample.yml`` (invented people) shows the format.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.paths import PROJECT_ROOT
from social_map.hours import check_expression, state_at
from social_map.schema import AREAS

log = logging.getLogger(__name__)
LANGUAGES = ("nl", "ar", "fr", "en")
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
LEGACY_PREFIX = "tg:"  # handoffs stored by Telegram user id before workers had a key
SAMPLE_FILE = PROJECT_ROOT / "bridge_workers.sample.yml"
DEFAULT_FILE = PROJECT_ROOT / "bridge_workers.yml"
_FIELDS = {
    "id",
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


def slug(name: str) -> str:
    """A login id made from a first name: "Anaïs" -> "anais" (empty for a name in Arabic)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40]


@dataclass(frozen=True)
class BridgeWorker:
    """One bridge worker. ``key`` is their stable id (the ``id`` field, or made from the first
    name): handoffs, registrations and the desk's login name refer to it. The Telegram user id
    is optional: a worker who uses only the desk has none."""

    first_name: str
    languages: tuple[str, ...]
    telegram_user_id: int | None
    hours: str
    schools: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    active: bool = True
    coordinator: bool = False
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", slug(self.first_name))

    def covers(self, school: str | None, area: str | None) -> bool:
        """Is this the worker's own school or area (their team's question)?"""
        return (school is not None and school in self.schools) or (
            area is not None and area in self.areas
        )

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
        if user_id is None:
            return None
        return next((w for w in self.active if w.telegram_user_id == user_id), None)

    def find(self, key: str | None) -> BridgeWorker | None:
        """Any worker (also inactive) by key, or by the ``tg:<user id>`` a handoff stored before
        workers had keys: for showing who did something."""
        if not key:
            return None
        if key.startswith(LEGACY_PREFIX):
            number = key[len(LEGACY_PREFIX) :]
            return next((w for w in self.workers if str(w.telegram_user_id) == number), None)
        return next((w for w in self.workers if w.key == key), None)

    def get(self, key: str | None) -> BridgeWorker | None:
        """The *active* worker with this key: only they may act (in the desk or the group)."""
        worker = self.find(key)
        return worker if worker is not None and worker.active else None

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
    seen_keys: set[str] = set()
    for index, item in enumerate(data["workers"], start=1):
        worker, errors = _parse_worker(item)
        label = f"worker {index}"
        if isinstance(item, dict) and item.get("first_name"):
            label += f" ({item['first_name']})"
        problems += [f"{where}: {label}: {error}" for error in errors]
        if worker is not None:
            if worker.telegram_user_id is not None and worker.telegram_user_id in seen_ids:
                problems.append(f"{where}: {label}: telegram_user_id is used twice")
            if worker.key in seen_keys:
                problems.append(
                    f"{where}: {label}: id `{worker.key}` is used twice (give each worker "
                    "their own `id:`)"
                )
            if worker.telegram_user_id is not None:
                seen_ids.add(worker.telegram_user_id)
            seen_keys.add(worker.key)
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
    if user_id is not None and (
        not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0
    ):
        errors.append(
            "telegram_user_id must be the worker's numeric Telegram user id (or leave it out "
            "for a worker who uses only the desk)"
        )
    key = item.get("id")
    if key is None:
        key = slug(str(name or ""))
        if isinstance(name, str) and name.strip() and not key:
            errors.append(
                "id is missing: this first name gives no login id, add `id:` (letters a-z, "
                "digits, - or _), e.g. `id: samira`"
            )
    elif not isinstance(key, str) or not KEY_PATTERN.match(key):
        errors.append(
            "id must be a short login id: lower-case letters a-z, digits, '.', '-' or '_' "
            "(at most 40), e.g. `id: samira`"
        )
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
            telegram_user_id=int(user_id) if user_id is not None else None,
            hours=str(hours),
            schools=tuple(_string_list(item.get("schools"))),
            areas=tuple(areas),
            active=item.get("active", True),
            coordinator=item.get("coordinator", False),
            key=str(key),
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


class TeamFile:
    """The bridge workers file, read again when it changes, so that a coordinator who sets a
    worker ``active: false`` takes their rights away at once (in the desk and the staff group)
    without a restart. A broken edit is logged and the last good team stays in force, like a
    broken map edit."""

    def __init__(self, path: Path, team: Team | None = None) -> None:
        self.path = Path(path)
        self._team = team if team is not None else load_team(self.path)
        self._stamp = self._stat()
        self._lock = threading.Lock()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def current(self) -> Team:
        stamp = self._stat()
        if stamp is not None and stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._stamp = stamp
                    try:
                        self._team = load_team(self.path)
                        log.info("bridge workers file changed: %d workers", len(self._team.workers))
                    except WorkersError as error:
                        log.error("bridge workers file: the edit is not used:\n%s", error)
        return self._team
