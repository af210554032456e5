"""Who should answer a parent: the bridge worker of their school, then of their area, then one
who speaks their language, then whoever is on duty.

Within a tier, a worker on duty now comes before one who starts later, and the quieter worker
(fewer open handoffs) before the busier one. An urgent handoff skips the tiers' patience: the
first tier with someone on duty *now* wins, because a crisis should not wait for the school's
own worker to start on Monday.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.handoff.workers import BridgeWorker, Team


@dataclass(frozen=True)
class Route:
    worker: BridgeWorker
    why: str  # "school", "area", "language" or "on duty": shown to the staff group
    available_now: bool
    available_at: datetime | None  # when the worker's next working hours start


def route(
    team: Team,
    *,
    at: datetime,
    language: str,
    area: str | None = None,
    school: str | None = None,
    urgent: bool = False,
    load: Mapping[str, int] | None = None,
) -> Route | None:
    """The best worker for this parent, or None when the team has no active worker."""
    workers = team.active
    if not workers:
        return None
    load = load or {}
    tiers: list[tuple[str, Callable[[BridgeWorker], bool]]] = [
        ("school", lambda w: school is not None and school in w.schools),
        ("area", lambda w: area is not None and area in w.areas),
        ("language", lambda w: language in w.languages),
        ("on duty", lambda w: True),
    ]

    def rank(w: BridgeWorker) -> tuple[datetime, int, int, str]:
        start = w.next_on_duty(at) or datetime.max.replace(tzinfo=at.tzinfo)
        speaks = 0 if language in w.languages else 1
        return (start, speaks, load.get(w.key, 0), w.first_name)

    if urgent:
        for why, fits in tiers:
            on_duty = [w for w in workers if fits(w) and w.on_duty(at)]
            if on_duty:
                return _route(min(on_duty, key=rank), why, at)
    for why, fits in tiers:
        candidates = [w for w in workers if fits(w)]
        if candidates:
            return _route(min(candidates, key=rank), why, at)
    return None  # unreachable: the last tier fits everyone


def _route(worker: BridgeWorker, why: str, at: datetime) -> Route:
    start = worker.next_on_duty(at)
    return Route(worker, why, start == at, start)
