"""The register of signals: structural problems the network sees, for the city.

A bridge worker who notices the same problem again and again (no homework help in a
neighbourhood, a waiting list, damp social housing) records a signal: what, which theme, where,
since when, about how many families. No names and no story of one family: a signal is about
a situation, never about a person. The coordinator brings it to the working group (which meets
about three times a year) and on to the city, and each step is kept in its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.clock import utc_iso
from bot.conversation.state import StateStore
from bot.conversation.vocabulary import AREA_LABELS
from bot.handoff.registrations import THEMES

STATUSES = ("new", "working_group", "city", "answered")
OPEN = ("new", "working_group", "city")
MAX_TITLE = 200
MAX_DETAIL = 2000


class SignalError(ValueError):
    """What is wrong with a signal, in Dutch, for the worker."""


@dataclass(frozen=True)
class Signal:
    id: int
    created_at: datetime
    created_by: str
    title: str
    detail: str
    theme: str
    area: str
    since: str | None
    families: int | None
    status: str

    def as_row(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "theme": self.theme,
            "area": self.area,
            "since": self.since,
            "families": self.families,
            "status": self.status,
        }


@dataclass(frozen=True)
class Step:
    at: datetime
    by: str
    status: str
    note: str


def check(
    title: str, theme: str, area: str, since: str, families: str, detail: str = ""
) -> tuple[str, str, str, str | None, int | None, str]:
    """Clean and check what a worker typed; raises SignalError with every problem."""
    problems = []
    title, detail = " ".join(title.split()), detail.strip()
    if not title:
        problems.append("Geef het signaal een korte titel.")
    if len(title) > MAX_TITLE or len(detail) > MAX_DETAIL:
        problems.append(f"Houd het kort: titel tot {MAX_TITLE}, uitleg tot {MAX_DETAIL} tekens.")
    if theme not in THEMES:
        problems.append("Kies een thema.")
    if area and area not in AREA_LABELS:
        problems.append("Dat deel van Leuven ken ik niet.")
    since = since.strip()
    if since:
        try:
            date.fromisoformat(since if len(since) > 7 else since + "-01")
        except ValueError:
            problems.append("'Sinds': een datum als 2025-09 of 2025-09-15.")
    count: int | None = None
    if families.strip():
        if not families.strip().isdigit() or not 0 < int(families) < 100_000:
            problems.append("'Hoeveel gezinnen': een getal, ongeveer.")
        else:
            count = int(families)
    if problems:
        raise SignalError(" ".join(problems))
    return title, theme, area, since or None, count, detail


class Signals:
    def __init__(self, state: StateStore) -> None:
        self._db, self._lock = state.connection
        self.clock = state.clock

    def add(
        self,
        by: str,
        title: str,
        theme: str,
        area: str = "",
        since: str = "",
        families: str = "",
        detail: str = "",
    ) -> int:
        title, theme, area, since_day, count, detail = check(
            title, theme, area, since, families, detail
        )
        now = utc_iso(self.clock())
        with self._db.transaction():
            signal_id = self._db.insert(
                "INSERT INTO signals (created_at, created_by, title, detail, theme, area, "
                "since, families, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'new') RETURNING id",
                (now, by, title, detail, theme, area, since_day, count),
            )
            self._db.execute(
                "INSERT INTO signal_history (signal_id, at, by, status, note) "
                "VALUES (?, ?, ?, 'new', '')",
                (signal_id, now, by),
            )
        return signal_id

    def move(self, signal_id: int, by: str, status: str, note: str = "") -> bool:
        """A new follow-up status, with a note (what the working group or the city said)."""
        if status not in STATUSES:
            raise SignalError("Kies een status.")
        note = note.strip()[:MAX_DETAIL]
        with self._db.transaction():
            cur = self._db.execute(
                "UPDATE signals SET status = ? WHERE id = ?", (status, signal_id)
            )
            if cur.rowcount == 1:
                self._db.execute(
                    "INSERT INTO signal_history (signal_id, at, by, status, note) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (signal_id, utc_iso(self.clock()), by, status, note),
                )
        return cur.rowcount == 1

    def list(self, *, open_only: bool = False) -> list[Signal]:
        where = f"WHERE status IN ({', '.join('?' * len(OPEN))})" if open_only else ""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created_at, created_by, title, detail, theme, area, since, families, "
                f"status FROM signals {where} ORDER BY id",
                OPEN if open_only else (),
            ).fetchall()
        return [
            Signal(
                int(r[0]),
                datetime.fromisoformat(r[1]),
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
            )
            for r in rows
        ]

    def get(self, signal_id: int) -> Signal | None:
        return next((s for s in self.list() if s.id == signal_id), None)

    def history(self, signal_id: int) -> list[Step]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, by, status, note FROM signal_history WHERE signal_id = ? ORDER BY id",
                (signal_id,),
            ).fetchall()
        return [Step(datetime.fromisoformat(r[0]), r[1], r[2], r[3]) for r in rows]
