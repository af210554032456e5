"""What changed in which handoff, in order: the desk's live updates read this.

The desk polls the database for new rows rather than listening in memory, so a worker's
browser sees what another process did (a second replica, ``wegwijs purge``) as well. Rows hold
no content: a handoff number, what happened, and which worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.conversation.state import StateStore, utc_iso

DESK_EVENTS_LOCK = 0x5745_4745_5631  # PostgreSQL advisory lock key: adding a desk event

KINDS = (
    "opened",
    "parent",
    "worker",
    "picked_up",
    "closed",
    "transferred",
    "note",
    "reannounce",
    "escalate",
    "reopened",
    "held",
    "notice",
    "registered",
    "quiet",
    "follow_up",
)


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    handoff_id: int | None
    kind: str
    worker: str | None


class EventLog:
    def __init__(self, state: StateStore) -> None:
        self._db, self._lock = state.connection

    def add(
        self, handoff_id: int | None, kind: str, now: datetime, worker: str | None = None
    ) -> int:
        with self._lock, self._db.transaction():
            if self._db.engine == "postgresql":
                # Ids come from a sequence: two replicas adding events at once could commit 6
                # before 5, and a desk that already read 6 would never see 5. One writer at a
                # time (until its transaction commits) keeps ids in commit order, as on SQLite.
                self._db.execute("SELECT pg_advisory_xact_lock(?)", (DESK_EVENTS_LOCK,))
            return self._db.insert(
                "INSERT INTO desk_events (at, handoff_id, kind, worker) VALUES (?, ?, ?, ?) "
                "RETURNING id",
                (utc_iso(now), handoff_id, kind, worker),
            )

    def since(self, after: int, limit: int = 500) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, handoff_id, kind, worker FROM desk_events WHERE id > ? "
                "ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [Event(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4]) for r in rows]

    def latest(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(id) FROM desk_events").fetchone()
        return int(row[0] or 0)

    def purge_before(self, cutoff: datetime) -> int:
        """Events are only needed while a browser may still be catching up."""
        with self._lock:
            return self._db.execute(
                "DELETE FROM desk_events WHERE at < ?", (utc_iso(cutoff),)
            ).rowcount
