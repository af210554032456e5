"""Per-chat conversation state in SQLite, so a restart forgets nothing a parent told us.

Only what the conversation needs is kept: language, area, school, the last need, whether the
parent gave consent, and small counters. No message text is stored here. Unmet needs are kept
as anonymous daily counts (need, area, language), never tied to a chat.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    chat_key TEXT PRIMARY KEY,
    language TEXT,
    area TEXT,
    area_asked INTEGER NOT NULL DEFAULT 0,
    school TEXT,
    last_need TEXT,
    pending_need TEXT,
    awaiting TEXT,
    consent INTEGER,
    failures INTEGER NOT NULL DEFAULT 0,
    greeted INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS unmet_needs (
    day TEXT NOT NULL,
    need TEXT NOT NULL,
    area TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, need, area, language)
);
CREATE TABLE IF NOT EXISTS handoff_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    urgent INTEGER NOT NULL DEFAULT 0,
    need TEXT,
    area TEXT,
    language TEXT,
    status TEXT NOT NULL DEFAULT 'waiting'
);
"""


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


class StateStore:
    """SQLite-backed chat state. One connection, guarded by a lock; WAL for crash safety."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def load(self, chat_key: str) -> ChatState | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM chats WHERE chat_key = ?", (chat_key,)).fetchone()
        if row is None:
            return None
        names = {f.name for f in fields(ChatState)}
        values = {k: row[k] for k in row.keys() if k in names}  # noqa: SIM118 - a Row is no dict
        for flag in ("area_asked", "greeted"):
            values[flag] = bool(values[flag])
        if values["consent"] is not None:
            values["consent"] = bool(values["consent"])
        return ChatState(**values)

    def save(self, state: ChatState) -> None:
        data = asdict(state)
        data["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        cols = ", ".join(data)
        marks = ", ".join(f":{k}" for k in data)
        updates = ", ".join(f"{k} = excluded.{k}" for k in data if k != "chat_key")
        with self._lock:
            self._db.execute(
                f"INSERT INTO chats ({cols}) VALUES ({marks}) "
                f"ON CONFLICT(chat_key) DO UPDATE SET {updates}",
                data,
            )

    def forget(self, chat_key: str) -> None:
        """Erase everything tied to this chat."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM chats WHERE chat_key = ?", (chat_key,))
            self._db.execute("DELETE FROM handoff_requests WHERE chat_key = ?", (chat_key,))
            self._db.execute("COMMIT")

    def record_unmet_need(self, need: str, area: str | None, language: str) -> None:
        day = datetime.now(UTC).date().isoformat()
        with self._lock:
            self._db.execute(
                "INSERT INTO unmet_needs (day, need, area, language, count) VALUES (?, ?, ?, ?, 1) "
                "ON CONFLICT(day, need, area, language) DO UPDATE SET count = count + 1",
                (day, need, area or "", language),
            )

    def request_handoff(
        self,
        chat_key: str,
        reason: str,
        urgent: bool,
        need: str | None,
        area: str | None,
        language: str,
    ) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO handoff_requests (chat_key, created_at, reason, urgent, need, area, "
                "language) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_key,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    reason,
                    int(urgent),
                    need,
                    area,
                    language,
                ),
            )
            return int(cur.lastrowid or 0)

    def open_handoffs(self, chat_key: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM handoff_requests WHERE chat_key = ? AND status = 'waiting'",
                (chat_key,),
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()
