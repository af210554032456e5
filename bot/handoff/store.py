"""Handoffs and their transcripts in the state database, so a restart loses none of them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from bot.clock import local_day, utc_iso
from bot.conversation.messages import MediaRef
from bot.conversation.state import StateStore
from bot.db import Row

OPEN = ("waiting", "active")


def _storable(number: int) -> bool:
    """Whether the database can hold this integer (a 30-digit number from a forged button
    cannot: a 64-bit integer on both engines)."""
    return -(2**63) <= number < 2**63


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Said:
    """One line of a handoff's conversation, as the desk shows it."""

    id: int
    at: datetime
    sender: str  # parent, worker, bot, note
    kind: str
    text: str
    media: MediaRef | None
    author: str | None  # the worker's key


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
    routed_key: str | None
    routed_why: str | None
    worker_key: str | None
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

    @property
    def assigned_key(self) -> str | None:
        """Who has it, or else who it was suggested to."""
        return self.worker_key or self.routed_key

    @classmethod
    def from_row(cls, row: Row) -> Handoff:
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
        routed_key: str | None,
        routed_why: str | None,
        now: datetime,
        due_at: datetime,
    ) -> Handoff:
        with self._lock:
            handoff_id = self._db.insert(
                "INSERT INTO handoffs (chat_key, channel, chat_id, reason, urgent, need, area, school, "
                "language, routed_key, routed_why, created_at, due_at, announced_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                    routed_key,
                    routed_why,
                    utc_iso(now),
                    utc_iso(due_at),
                    utc_iso(now),
                ),
            )
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

    def record_times(
        self,
        handoff: Handoff,
        closed_at: datetime,
        over_working_day: bool,
    ) -> None:
        """The anonymous trace of how long a handoff waited, kept for the report after the
        handoff itself is erased (table ``handoff_times``: no chat, no worker)."""
        to_pickup = (
            max(0, int((handoff.picked_up_at - handoff.due_at).total_seconds()))
            if handoff.picked_up_at
            else None
        )
        with self._lock:
            first = self._db.execute(
                "UPDATE handoffs SET timed = 1 WHERE id = ? AND timed = 0", (handoff.id,)
            ).rowcount
            if not first:  # closed before, reopened for a follow-up: counted the first time
                return
            self._db.execute(
                "INSERT INTO handoff_times (closed_on, school, area, language, channel, urgent, "
                "to_pickup_s, to_close_s, over_working_day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    local_day(closed_at).isoformat(),
                    handoff.school or "",
                    handoff.area or "",
                    handoff.language,
                    handoff.channel,
                    int(handoff.urgent),
                    to_pickup,
                    max(0, int((closed_at - handoff.created_at).total_seconds())),
                    int(over_working_day),
                ),
            )

    def unanswered(self) -> list[tuple[Handoff, datetime, datetime | None]]:
        """Picked-up handoffs whose parent wrote after the worker's last message: each with the
        time of the parent's first unanswered message and when the team was last alarmed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT h.*, (SELECT MIN(m.at) FROM handoff_messages m WHERE m.handoff_id = h.id "
                "AND m.sender = 'parent' AND m.at >= coalesce((SELECT MAX(w.at) FROM "
                "handoff_messages w WHERE w.handoff_id = h.id AND w.sender = 'worker'), "
                "h.picked_up_at)) AS waiting_since FROM handoffs h WHERE h.status = 'active' "
                "ORDER BY h.id"
            ).fetchall()
        return [
            (
                Handoff.from_row(row),
                datetime.fromisoformat(row["waiting_since"]),
                _dt(row["quiet_alarm_at"]),
            )
            for row in rows
            if row["waiting_since"]
        ]

    def waiting(self) -> list[Handoff]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM handoffs WHERE status = 'waiting' ORDER BY id"
            ).fetchall()
        return [Handoff.from_row(row) for row in rows]

    def closed_before(self, cutoff: datetime) -> list[Handoff]:
        """Handoffs closed before ``cutoff``: their retention time is over. A follow-up the
        worker planned (a registration's "follow up on DATE", not yet done) keeps its handoff
        until that day is older than ``cutoff``: the retention time counts from then."""
        cutoff_day = cutoff.date().isoformat()
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM handoffs h WHERE status = 'closed' AND closed_at < ? "
                "AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.handoff_id = h.id "
                "AND r.follow_up_on >= ? AND r.follow_up_done_at IS NULL) ORDER BY id",
                (utc_iso(cutoff), cutoff_day),
            ).fetchall()
        return [Handoff.from_row(row) for row in rows]

    def idle_open(self, cutoff: datetime) -> list[Handoff]:
        """Open handoffs in which nothing happened since ``cutoff`` (no message either way)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT h.* FROM handoffs h WHERE h.status IN ('waiting', 'active') "
                "AND h.created_at < ? AND coalesce(h.picked_up_at, '') < ? AND NOT EXISTS "
                "(SELECT 1 FROM handoff_messages m WHERE m.handoff_id = h.id AND m.at >= ?) "
                "ORDER BY h.id",
                (utc_iso(cutoff),) * 3,
            ).fetchall()
        return [Handoff.from_row(row) for row in rows]

    def load_by_worker(self) -> dict[str, int]:
        """Open handoffs per worker (assigned or suggested): spread the work."""
        with self._lock:
            rows = self._db.execute(
                "SELECT COALESCE(worker_key, routed_key), COUNT(*) FROM handoffs "
                "WHERE status IN ('waiting', 'active') GROUP BY 1"
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows if r[0] is not None}

    def adopt_legacy_keys(self, telegram_ids: dict[int, str]) -> int:
        """Rewrite ``tg:<user id>`` (handoffs from before workers had keys) to the worker's key,
        for the workers the team knows. Returns how many handoffs changed."""
        changed = 0
        with self._lock:
            for user_id, key in telegram_ids.items():
                for column in ("worker_key", "routed_key"):
                    changed += self._db.execute(
                        f"UPDATE handoffs SET {column} = ? WHERE {column} = ?",
                        (key, f"tg:{user_id}"),
                    ).rowcount
        return changed

    def listing(
        self,
        *,
        status: tuple[str, ...] = OPEN,
        worker: str | None = None,
        closed_since: datetime | None = None,
        limit: int = 200,
    ) -> list[Handoff]:
        """Handoffs for the desk's lists: urgent first, then oldest (closed: newest first)."""
        marks = ", ".join("?" * len(status))
        sql = f"SELECT * FROM handoffs WHERE status IN ({marks})"
        params: list[object] = list(status)
        if worker is not None:
            sql += " AND worker_key = ?"
            params.append(worker)
        if closed_since is not None:
            sql += " AND closed_at >= ?"
            params.append(utc_iso(closed_since))
        if status == ("closed",):
            sql += " ORDER BY closed_at DESC, id DESC"
        else:
            sql += " ORDER BY urgent DESC, created_at, id"
        sql += " LIMIT ?"
        params.append(limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [Handoff.from_row(row) for row in rows]

    def by_ids(self, ids: list[int]) -> list[Handoff]:
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM handoffs WHERE id IN ({marks}) ORDER BY id", ids
            ).fetchall()
        return [Handoff.from_row(row) for row in rows]

    def assign(self, handoff_id: int, worker_key: str, now: datetime) -> bool:
        """Give an open handoff to a worker (a transfer, or a coordinator assigning it)."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE handoffs SET worker_key = ?, status = 'active', "
                "picked_up_at = COALESCE(picked_up_at, ?) "
                "WHERE id = ? AND status IN ('waiting', 'active')",
                (worker_key, utc_iso(now), handoff_id),
            )
        return cur.rowcount == 1

    def reopen(self, handoff_id: int, worker_key: str) -> bool:
        """A closed handoff comes back to a worker (a follow-up), unless the parent has another
        question open by now."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE handoffs SET status = 'active', worker_key = ?, closed_at = NULL "
                "WHERE id = ? AND status = 'closed' AND NOT EXISTS (SELECT 1 FROM handoffs o "
                "WHERE o.chat_key = handoffs.chat_key AND o.status IN ('waiting', 'active'))",
                (worker_key, handoff_id),
            )
        return cur.rowcount == 1

    def update(self, handoff_id: int, **values: object) -> None:
        for key, value in values.items():
            if isinstance(value, datetime):
                values[key] = utc_iso(value)
        sets = ", ".join(f"{key} = ?" for key in values)
        with self._lock:
            self._db.execute(
                f"UPDATE handoffs SET {sets} WHERE id = ?", (*values.values(), handoff_id)
            )

    def pick_up(self, handoff_id: int, worker_key: str, now: datetime) -> bool:
        """Atomically assign a waiting handoff; False when someone else was quicker."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE handoffs SET status = 'active', worker_key = ?, picked_up_at = ? "
                "WHERE id = ? AND status = 'waiting'",
                (worker_key, utc_iso(now), handoff_id),
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
        self,
        handoff_id: int,
        sender: str,
        kind: str,
        text: str,
        now: datetime,
        media: MediaRef | None = None,
        author: str | None = None,
    ) -> int:
        media_json = json.dumps(asdict(media), ensure_ascii=False) if media else None
        with self._lock:
            return self._db.insert(
                "INSERT INTO handoff_messages (handoff_id, at, sender, kind, text, media, author) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (handoff_id, utc_iso(now), sender, kind, text, media_json, author),
            )

    def messages(self, handoff_id: int, after: int = 0) -> list[Said]:
        """The conversation for the desk (with internal notes and where each file lives)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, sender, kind, text, media, author FROM handoff_messages "
                "WHERE handoff_id = ? AND id > ? ORDER BY id",
                (handoff_id, after),
            ).fetchall()
        return [
            Said(
                int(r[0]),
                datetime.fromisoformat(r[1]),
                r[2],
                r[3],
                r[4],
                MediaRef(**json.loads(r[5])) if r[5] else None,
                r[6],
            )
            for r in rows
        ]

    def message(self, handoff_id: int, message_id: int) -> Said | None:
        found = [m for m in self.messages(handoff_id, message_id - 1) if m.id == message_id]
        return found[0] if found else None

    def last_parent_message(self, handoff_ids: list[int]) -> dict[int, int]:
        """The id of each handoff's latest message from the parent (for unread marks)."""
        if not handoff_ids:
            return {}
        marks = ", ".join("?" * len(handoff_ids))
        with self._lock:
            rows = self._db.execute(
                "SELECT handoff_id, MAX(id) FROM handoff_messages WHERE sender = 'parent' "
                f"AND handoff_id IN ({marks}) GROUP BY handoff_id",
                handoff_ids,
            ).fetchall()
        return {int(r[0]): int(r[1]) for r in rows}

    def transcript(self, handoff_id: int) -> list[tuple[datetime, str, str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, sender, kind, text FROM handoff_messages WHERE handoff_id = ? "
                "AND sender != 'note' ORDER BY id",
                (handoff_id,),
            ).fetchall()
        return [(datetime.fromisoformat(r[0]), r[1], r[2], r[3]) for r in rows]
