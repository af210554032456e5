"""Handoffs and their transcripts in the state database, so a restart loses none of them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from datetime import datetime

from bot.conversation.state import StateStore, utc_iso

OPEN = ("waiting", "active")


def _storable(number: int) -> bool:
    """Whether SQLite can hold this integer (a 30-digit number from a forged button cannot)."""
    return -(2**63) <= number < 2**63


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class Handoff:
    id: int
    chat_key: str
    channel: str
    chat_id: str
    status: str
    reason: str
    urgent: bool
    need: str | None
    area: str | None
    school: str | None
    language: str
    routed_to: int | None
    routed_why: str | None
    worker_id: int | None
    topic_id: int | None
    summary_message_id: int | None
    created_at: datetime
    due_at: datetime
    announced_at: datetime | None
    escalated_at: datetime | None
    picked_up_at: datetime | None
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Handoff:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["urgent"] = bool(values["urgent"])
        for name in (
            "created_at",
            "due_at",
            "announced_at",
            "escalated_at",
            "picked_up_at",
            "closed_at",
        ):
            values[name] = _dt(values[name])
        return cls(**values)


class HandoffStore:
    def __init__(self, state: StateStore) -> None:
        self._db, self._lock = state.connection

    def _one(self, sql: str, params: tuple[object, ...]) -> Handoff | None:
        with self._lock:
            row = self._db.execute(sql, params).fetchone()
        return Handoff.from_row(row) if row else None

    def create(
        self,
        *,
        chat_key: str,
        channel: str,
        chat_id: str,
        reason: str,
        urgent: bool,
        need: str | None,
        area: str | None,
        school: str | None,
        language: str,
        routed_to: int | None,
        routed_why: str | None,
        now: datetime,
        due_at: datetime,
    ) -> Handoff:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO handoffs (chat_key, channel, chat_id, reason, urgent, need, area, school, "
                "language, routed_to, routed_why, created_at, due_at, announced_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_key,
                    channel,
                    chat_id,
                    reason,
                    int(urgent),
                    need,
                    area,
                    school,
                    language,
                    routed_to,
                    routed_why,
                    utc_iso(now),
                    utc_iso(due_at),
                    utc_iso(now),
                ),
            )
            handoff_id = int(cur.lastrowid or 0)
        found = self.get(handoff_id)
        assert found is not None
        return found

    def get(self, handoff_id: int) -> Handoff | None:
        if not _storable(handoff_id):  # a number from outside (a button): no such handoff
            return None
        return self._one("SELECT * FROM handoffs WHERE id = ?", (handoff_id,))

    def open_for_chat(self, chat_key: str) -> Handoff | None:
        return self._one(
            "SELECT * FROM handoffs WHERE chat_key = ? AND status IN ('waiting', 'active') "
            "ORDER BY id DESC LIMIT 1",
            (chat_key,),
        )

    def by_topic(self, topic_id: int) -> Handoff | None:
        if not _storable(topic_id):
            return None
        return self._one(
            "SELECT * FROM handoffs WHERE topic_id = ? ORDER BY id DESC LIMIT 1", (topic_id,)
        )

    def for_chat(self, chat_key: str) -> list[Handoff]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM handoffs WHERE chat_key = ? ORDER BY id", (chat_key,)
            ).fetchall()
        return [Handoff.from_row(row) for row in rows]

    def waiting(self) -> list[Handoff]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM handoffs WHERE status = 'waiting' ORDER BY id"
            ).fetchall()
        return [Handoff.from_row(row) for row in rows]

    def closed_before(self, cutoff: datetime) -> list[Handoff]:
        """Handoffs closed before ``cutoff``: their retention time is over."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM handoffs WHERE status = 'closed' AND closed_at < ? ORDER BY id",
                (utc_iso(cutoff),),
            ).fetchall()
        return [Handoff.from_row(row) for row in rows]

    def idle_open(self, cutoff: datetime) -> list[Handoff]:
        """Open handoffs in which nothing happened since ``cutoff`` (no message either way)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT h.* FROM handoffs h WHERE h.status IN ('waiting', 'active') "
                "AND max(h.created_at, coalesce(h.picked_up_at, ''), coalesce("
                "(SELECT max(m.at) FROM handoff_messages m WHERE m.handoff_id = h.id), '')) < ? "
                "ORDER BY h.id",
                (utc_iso(cutoff),),
            ).fetchall()
        return [Handoff.from_row(row) for row in rows]

    def load_by_worker(self) -> dict[int, int]:
        """Open handoffs per worker (assigned or suggested): spread the work."""
        with self._lock:
            rows = self._db.execute(
                "SELECT COALESCE(worker_id, routed_to), COUNT(*) FROM handoffs "
                "WHERE status IN ('waiting', 'active') GROUP BY 1"
            ).fetchall()
        return {int(r[0]): int(r[1]) for r in rows if r[0] is not None}

    def update(self, handoff_id: int, **values: object) -> None:
        for key, value in values.items():
            if isinstance(value, datetime):
                values[key] = utc_iso(value)
        sets = ", ".join(f"{key} = ?" for key in values)
        with self._lock:
            self._db.execute(
                f"UPDATE handoffs SET {sets} WHERE id = ?", (*values.values(), handoff_id)
            )

    def pick_up(self, handoff_id: int, worker_id: int, now: datetime) -> bool:
        """Atomically assign a waiting handoff; False when someone else was quicker."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE handoffs SET status = 'active', worker_id = ?, picked_up_at = ? "
                "WHERE id = ? AND status = 'waiting'",
                (worker_id, utc_iso(now), handoff_id),
            )
        return cur.rowcount == 1

    def close(self, handoff_id: int, now: datetime) -> bool:
        with self._lock:
            cur = self._db.execute(
                "UPDATE handoffs SET status = 'closed', closed_at = ? "
                "WHERE id = ? AND status IN ('waiting', 'active')",
                (utc_iso(now), handoff_id),
            )
        return cur.rowcount == 1

    def add_message(
        self, handoff_id: int, sender: str, kind: str, text: str, now: datetime
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO handoff_messages (handoff_id, at, sender, kind, text) VALUES (?, ?, ?, ?, ?)",
                (handoff_id, utc_iso(now), sender, kind, text),
            )

    def transcript(self, handoff_id: int) -> list[tuple[datetime, str, str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, sender, kind, text FROM handoff_messages WHERE handoff_id = ? ORDER BY id",
                (handoff_id,),
            ).fetchall()
        return [(datetime.fromisoformat(r[0]), r[1], r[2], r[3]) for r in rows]
