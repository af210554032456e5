"""Per-chat conversation state in the state database (SQLite, or PostgreSQL), so a restart
forgets nothing a parent told us.

Only what the conversation needs is kept: language, area, school, the last need, whether the
parent gave consent, and small counters. Message text is stored only for a handoff the parent
consented to (``handoff_messages``, and the outbox until sent). Unmet needs and handoffs are
also counted per day (need, area, language), anonymously: those counts are never tied to a
chat, so they survive ``/forget`` and the retention purge (:mod:`bot.retention`).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

from bot.clock import Clock, local_day, system_clock, utc_iso
from bot.db import Database, DatabaseTarget, open_database
from bot.db.migrate import upgrade
from bot.db.target import parse_target
from bot.replicas import replica_name


@dataclass
class ChatState:
    chat_key: str
    language: str | None = None
    area: str | None = None
    area_asked: bool = False
    school: str | None = None
    last_need: str | None = None
    pending_need: str | None = None
    awaiting: str | None = None  # what the last question was: "area", "consent"
    consent: bool | None = None
    failures: int = 0
    greeted: bool = False
    handoff_reason: str | None = None  # why a person was offered: human_request, crisis, media...
    last_services: str | None = None  # comma-separated map ids of the last services suggested
    checkback_offered: bool = False  # the bot asked once whether it may check back
    # While the area is asked: the map words of the question, the child's age, urgency
    # (social_map.ranking.Query.dump), never the message itself. Cleared once answered.
    pending_detail: str | None = None


class StateStore:
    """The bot's state, in SQLite (the default) or PostgreSQL (``WEGWIJS_DATABASE_URL``).

    One :class:`~bot.db.Database` for every store: the handoff desk, the outbox, the desk's
    sessions and the rest take it from :attr:`connection`. Opening brings the schema to the
    newest revision (:mod:`bot.db.migrate`), as creating it here always did. Every time it
    stamps comes from ``clock`` (:mod:`bot.clock`); the engine, the handoff desk and every
    store that shares this database take their time from it too."""

    def __init__(
        self,
        where: Path | str | DatabaseTarget,
        clock: Clock = system_clock,
        replica: str | None = None,
    ) -> None:
        self.clock = clock
        self.replica = replica or replica_name()  # this process, in claims (bot/replicas)
        self.target = where if isinstance(where, DatabaseTarget) else parse_target(where)
        self.path = self.target.location if not self.target.is_postgres else self.target.shown()
        self._db = open_database(self.target)
        try:
            upgrade(self._db, self.target)
        except BaseException:
            self._db.close()
            raise
        self._lock = self._db.lock

    @property
    def engine(self) -> str:
        return self.target.engine

    def files_dir(self) -> Path | None:
        """Where workers' uploads in the desk go: next to a SQLite file, else in the data
        directory (None for an in-memory database)."""
        if self.target.is_postgres:
            from bot.paths import data_dir

            return data_dir() / "desk-files"
        if self.path == ":memory:":
            return None
        return Path(self.path).parent / "desk-files"

    def load(self, chat_key: str) -> ChatState | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM chats WHERE chat_key = ?", (chat_key,)).fetchone()
        if row is None:
            return None
        names = {f.name for f in fields(ChatState)}
        values = {k: row[k] for k in row.keys() if k in names}  # noqa: SIM118 - a Row is no dict
        for flag in ("area_asked", "greeted", "checkback_offered"):
            values[flag] = bool(values[flag])
        if values["consent"] is not None:
            values["consent"] = bool(values["consent"])
        return ChatState(**values)

    def save(self, state: ChatState) -> None:
        data = asdict(state)
        data["updated_at"] = utc_iso(self.clock())
        cols = ", ".join(data)
        marks = ", ".join("?" for _ in data)
        updates = ", ".join(f"{k} = excluded.{k}" for k in data if k != "chat_key")
        with self._lock:
            self._db.execute(
                f"INSERT INTO chats ({cols}) VALUES ({marks}) "
                f"ON CONFLICT (chat_key) DO UPDATE SET {updates}",
                tuple(data.values()),
            )

    def forget(self, chat_key: str) -> None:
        """Erase everything tied to this chat: its state, handoffs, transcripts, queued messages."""
        with self._db.transaction():
            mine = "(SELECT id FROM handoffs WHERE chat_key = ?)"
            for table in ("handoff_messages", "desk_events", "desk_reads", "desk_files"):
                self._db.execute(f"DELETE FROM {table} WHERE handoff_id IN {mine}", (chat_key,))
            # Registrations stay (they are the anonymous figures); their link to this family
            # goes, and so does a follow-up planned with them.
            self._db.execute(
                "UPDATE registrations SET handoff_id = NULL, follow_up_on = NULL "
                f"WHERE handoff_id IN {mine}",
                (chat_key,),
            )
            # Everything still queued for this parent (the parent lane's key is the chat) or
            # about them (their messages on the way to the staff group).
            self._db.execute(
                "DELETE FROM outbox WHERE key = ? OR handoff_id IN "
                "(SELECT id FROM handoffs WHERE chat_key = ?)",
                (chat_key, chat_key),
            )
            self._db.execute("DELETE FROM seen_messages WHERE chat_key = ?", (chat_key,))
            self._db.execute("DELETE FROM inbox WHERE chat_key = ?", (chat_key,))
            self._db.execute("DELETE FROM handoffs WHERE chat_key = ?", (chat_key,))
            self._db.execute("DELETE FROM chats WHERE chat_key = ?", (chat_key,))
            self._db.execute("DELETE FROM contact_windows WHERE chat_key = ?", (chat_key,))
            self._db.execute("DELETE FROM checkbacks WHERE chat_key = ?", (chat_key,))

    def purge(
        self,
        *,
        handoff_ids: list[int],
        idle_before: datetime,
        seen_before: datetime,
        window_before: float,
    ) -> dict[str, int]:
        """Delete what the retention policy (:mod:`bot.retention`) says has been kept long enough:
        the given (expired) handoffs with their transcripts and queued items; chats idle since
        ``idle_before`` without an open handoff; held or undeliverable messages queued before
        it; platform message ids seen before ``seen_before``; and 24-hour-window rows older than
        ``window_before`` (unix time) with nothing held for them. Returns counts per kind."""
        idle = utc_iso(idle_before)
        counts: dict[str, int] = {}
        counts["transcript messages"] = counts["registration links"] = 0
        counts["queued messages"] = counts["handoffs"] = 0
        with self._db.transaction():
            if handoff_ids:  # (an empty IN () is an error on PostgreSQL)
                self._purge_handoffs(handoff_ids, counts)
            counts["queued messages"] += self._db.execute(
                "DELETE FROM outbox WHERE status IN ('held', 'undeliverable') AND created_at < ?",
                (idle,),
            ).rowcount
            counts["chats"] = self._db.execute(
                "DELETE FROM chats WHERE updated_at < ? AND chat_key NOT IN "
                "(SELECT chat_key FROM handoffs WHERE status IN ('waiting', 'active'))",
                (idle,),
            ).rowcount
            # A check planned (or asked) before the cutoff is dropped unanswered.
            counts["planned check-backs"] = self._db.execute(
                "DELETE FROM checkbacks WHERE created_at < ?", (idle,)
            ).rowcount
            counts["message ids"] = self._db.execute(
                "DELETE FROM seen_messages WHERE at < ?", (utc_iso(seen_before),)
            ).rowcount
            counts["contact windows"] = self._db.execute(
                "DELETE FROM contact_windows WHERE last_inbound < ? AND chat_key NOT IN "
                "(SELECT key FROM outbox WHERE lane = 'parent' AND status = 'held')",
                (window_before,),
            ).rowcount
        return counts

    def _purge_handoffs(self, handoff_ids: list[int], counts: dict[str, int]) -> None:
        """Within :meth:`purge`: these handoffs with their transcripts and what hangs on them."""
        marks = ", ".join("?" * len(handoff_ids))
        counts["transcript messages"] = self._db.execute(
            f"DELETE FROM handoff_messages WHERE handoff_id IN ({marks})", handoff_ids
        ).rowcount
        for table in ("desk_events", "desk_reads", "desk_files"):
            self._db.execute(f"DELETE FROM {table} WHERE handoff_id IN ({marks})", handoff_ids)
        counts["registration links"] = self._db.execute(
            f"UPDATE registrations SET handoff_id = NULL WHERE handoff_id IN ({marks})",
            handoff_ids,
        ).rowcount
        counts["queued messages"] = self._db.execute(
            f"DELETE FROM outbox WHERE handoff_id IN ({marks})", handoff_ids
        ).rowcount
        counts["handoffs"] = self._db.execute(
            f"DELETE FROM handoffs WHERE id IN ({marks})", handoff_ids
        ).rowcount

    def record_unmet_need(self, need: str, area: str | None, language: str) -> None:
        day = local_day(self.clock()).isoformat()
        with self._lock:
            self._db.execute(
                "INSERT INTO unmet_needs (day, need, area, language, count) VALUES (?, ?, ?, ?, 1) "
                "ON CONFLICT (day, need, area, language) DO UPDATE SET count = unmet_needs.count + 1",
                (day, need, area or "", language),
            )

    def count_handoff(
        self, reason: str, need: str | None, area: str | None, language: str, urgent: bool
    ) -> None:
        """The anonymous trace of a handoff, kept for statistics after its rows are erased."""
        day = local_day(self.clock()).isoformat()
        with self._lock:
            self._db.execute(
                "INSERT INTO handoff_counts (day, reason, need, area, language, urgent, count) "
                "VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (day, reason, need, area, language, "
                "urgent) DO UPDATE SET count = handoff_counts.count + 1",
                (day, reason, need or "", area or "", language, int(urgent)),
            )

    def count_helped(self, handoff_id: int, chat_key: str, answer: str) -> bool:
        """The parent's one tap after a handoff closed: counted once per handoff, anonymously.
        False when it was given already (a double tap) or the handoff is not theirs."""
        day = local_day(self.clock()).isoformat()
        with self._db.transaction():
            cur = self._db.execute(
                "UPDATE handoffs SET helped = ? WHERE id = ? AND chat_key = ? "
                "AND status = 'closed' AND helped IS NULL",
                (answer, handoff_id, chat_key),
            )
            if cur.rowcount == 1:
                self._db.execute(
                    "INSERT INTO helped_counts (day, answer, count) VALUES (?, ?, 1) "
                    "ON CONFLICT (day, answer) "
                    "DO UPDATE SET count = helped_counts.count + 1",
                    (day, answer),
                )
        return cur.rowcount == 1

    def handoffs(self, chat_key: str) -> int:
        """How many of this chat's questions went to a bridge worker (their messages are kept)."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM handoffs WHERE chat_key = ?", (chat_key,)
            ).fetchone()
        return int(row[0])

    def first_time(self, channel: str, message_id: str, chat_key: str = "") -> bool:
        """True once per platform message id: a message delivered twice is handled once."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO seen_messages (channel, message_id, at, chat_key) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (channel, message_id) DO NOTHING",
                (channel, message_id, utc_iso(self.clock()), chat_key),
            )
        return cur.rowcount == 1

    def accept(self, chat_key: str, message: str, channel: str, message_id: str | None) -> int:
        """Take a parent's message in: 0 if this platform id was seen before (a re-delivery),
        else the id of its inbox row. Both in one transaction, so a message is never marked
        seen without being kept until :meth:`handled`."""
        with self._db.transaction():
            if message_id:
                cur = self._db.execute(
                    "INSERT INTO seen_messages (channel, message_id, at, chat_key) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (channel, message_id) DO NOTHING",
                    (channel, message_id, utc_iso(self.clock()), chat_key),
                )
                if cur.rowcount != 1:
                    return 0  # nothing else was written: the transaction ends empty
            return self._db.insert(
                "INSERT INTO inbox (chat_key, message, at) VALUES (?, ?, ?) RETURNING id",
                (chat_key, message, utc_iso(self.clock())),
            )

    def handled(self, inbox_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM inbox WHERE id = ?", (inbox_id,))

    def unhandled(self) -> list[tuple[int, str]]:
        """Messages taken in but not handled to the end (the process died): oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT id, message FROM inbox ORDER BY id").fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def unhandled_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])

    def heard_from(self, chat_key: str, at: float) -> None:
        """The parent wrote (unix time ``at``): their 24-hour window opens again."""
        with self._lock:
            self._db.execute(
                "INSERT INTO contact_windows (chat_key, last_inbound) VALUES (?, ?) "
                "ON CONFLICT (chat_key) DO UPDATE SET last_inbound = CASE "
                "WHEN excluded.last_inbound > contact_windows.last_inbound "
                "THEN excluded.last_inbound ELSE contact_windows.last_inbound END, "
                "nudged_at = NULL",
                (chat_key, at),
            )

    def last_heard(self, chat_key: str) -> tuple[float | None, float | None]:
        """(last message from the parent, template sent since then), as unix times."""
        with self._lock:
            row = self._db.execute(
                "SELECT last_inbound, nudged_at FROM contact_windows WHERE chat_key = ?",
                (chat_key,),
            ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def nudged(self, chat_key: str, at: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO contact_windows (chat_key, last_inbound, nudged_at) VALUES (?, 0, ?) "
                "ON CONFLICT (chat_key) DO UPDATE SET nudged_at = excluded.nudged_at",
                (chat_key, at),
            )

    def language_of(self, chat_key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT language FROM chats WHERE chat_key = ?", (chat_key,)
            ).fetchone()
        return row[0] if row else None

    @property
    def connection(self) -> tuple[Database, threading.RLock]:
        """The shared database and its lock, for the other stores on the same state."""
        return self._db, self._lock

    def close(self) -> None:
        self._db.close()
