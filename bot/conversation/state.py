"""Per-chat conversation state in SQLite, so a restart forgets nothing a parent told us.

Only what the conversation needs is kept: language, area, school, the last need, whether the
parent gave consent, and small counters. Message text is stored only for a handoff the parent
consented to (``handoff_messages``, and the outbox until sent). Unmet needs and handoffs are
also counted per day (need, area, language), anonymously: those counts are never tied to a
chat, so they survive ``/forget`` and the retention purge (:mod:`bot.retention`).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import Clock, local_day, system_clock, utc_iso
from bot.replicas import replica_name

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
    handoff_reason TEXT,
    last_services TEXT,         -- the ids of the services suggested last (for a check-back)
    checkback_offered INTEGER NOT NULL DEFAULT 0,
    pending_detail TEXT,
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
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',   -- waiting, active (picked up), closed
    reason TEXT NOT NULL,
    urgent INTEGER NOT NULL DEFAULT 0,
    need TEXT,
    area TEXT,
    school TEXT,
    language TEXT NOT NULL,
    routed_key TEXT,            -- the suggested worker (their key in the bridge workers file)
    routed_why TEXT,
    worker_key TEXT,            -- the worker who has it (picked up, or was given it)
    topic_id INTEGER,           -- message_thread_id of its forum topic in the staff group
    summary_message_id INTEGER,
    created_at TEXT NOT NULL,
    due_at TEXT NOT NULL,       -- when someone is on duty to see it (created_at if urgent)
    announced_at TEXT,
    escalated_at TEXT,
    picked_up_at TEXT,
    closed_at TEXT,
    helped TEXT,                -- the parent's one tap after close (yes, no): counted once
    quiet_alarm_at TEXT,        -- when the team was last told a parent's message waits
    timed INTEGER NOT NULL DEFAULT 0  -- its durations went to handoff_times (once)
);
CREATE INDEX IF NOT EXISTS handoffs_chat ON handoffs (chat_key, status);
CREATE INDEX IF NOT EXISTS handoffs_topic ON handoffs (topic_id);
CREATE TABLE IF NOT EXISTS handoff_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    handoff_id INTEGER NOT NULL REFERENCES handoffs (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    sender TEXT NOT NULL,       -- parent, worker, bot, note (internal: never to the parent)
    kind TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    media TEXT,                 -- JSON: where the file lives (a MediaRef), to show it in the desk
    author TEXT                 -- the worker's key, for worker messages and notes
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lane TEXT NOT NULL,         -- staff (the Telegram staff group) or parent
    key TEXT NOT NULL,          -- order is kept per key: the parent's chat, or the staff group
    handoff_id INTEGER,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,      -- JSON
    created_at TEXT NOT NULL,
    not_before TEXT,            -- retry backoff
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending, held, undeliverable (sent: deleted)
    sending_by TEXT,            -- the replica whose request for it may be under way (the
    sending_at TEXT             -- window between a send and its deletion: bot/handoff/outbox.py)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (lane, status, id);
CREATE TABLE IF NOT EXISTS contact_windows (
    chat_key TEXT PRIMARY KEY,  -- WhatsApp only: free messages are allowed 24 h after the last one
    last_inbound REAL NOT NULL, -- unix time of the parent's last message
    nudged_at REAL              -- when the "you have an answer" template went out, if since then
);
CREATE TABLE IF NOT EXISTS handoff_counts (
    day TEXT NOT NULL,          -- anonymous: how many questions went to a person, and why
    reason TEXT NOT NULL,
    need TEXT NOT NULL DEFAULT '',
    area TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    urgent INTEGER NOT NULL DEFAULT 0,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, reason, need, area, language, urgent)
);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- a parent's message while it is being handled,
    chat_key TEXT NOT NULL,                -- so a crash mid-way does not lose it: handled
    message TEXT NOT NULL,                 -- again at the next start, then deleted (JSON)
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- "may I ask in a few days whether it worked out?"
    chat_key TEXT NOT NULL UNIQUE,         -- the parent said yes: one planned check per chat
    language TEXT NOT NULL,
    services TEXT NOT NULL,                -- JSON list of the social map ids the bot suggested
    created_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    asked_at TEXT                          -- the question went out; the row goes with the answer
);
CREATE TABLE IF NOT EXISTS checkback_answers (
    day TEXT NOT NULL,          -- anonymous: per service, did parents reach it (bot.followup)
    service TEXT NOT NULL,
    answer TEXT NOT NULL,       -- reached, not_yet, person
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, service, answer)
);
CREATE TABLE IF NOT EXISTS helped_counts (
    day TEXT NOT NULL,          -- anonymous: after a handoff closed, did it help? (one tap)
    answer TEXT NOT NULL,       -- yes, no
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, answer)
);
CREATE TABLE IF NOT EXISTS telegram_updates (
    update_id INTEGER PRIMARY KEY,  -- a Telegram update from its arrival until it is handled
    body TEXT NOT NULL,             -- (JSON), so that one acknowledged or confirmed to Telegram
    at TEXT NOT NULL,               -- is never lost: see bot/channels/telegram/inbox.py
    lane TEXT NOT NULL DEFAULT ''   -- its chat (or staff topic): handled in order per lane
);
CREATE TABLE IF NOT EXISTS claims (
    name TEXT PRIMARY KEY,      -- what is being done: inbox:<chat>, telegram:<lane>,
    owner TEXT NOT NULL,        -- outbox:<lane>:<key>, job:<name>; by which replica,
    expires_at TEXT NOT NULL,   -- until when without its heartbeat (bot/replicas/claims.py)
    knocks INTEGER NOT NULL DEFAULT 0  -- others asked for it meanwhile: look again before letting go
);
CREATE TABLE IF NOT EXISTS seen_messages (
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL,   -- the platform's id: it can contain the chat id or phone number
    at TEXT NOT NULL,
    chat_key TEXT NOT NULL DEFAULT '',  -- so /forget can erase these too
    PRIMARY KEY (channel, message_id)
);
-- The desk (the bridge workers' web inbox, bot/desk/). No message text in any of these but
-- desk_files (a worker's upload, on disk), which go with their handoff.
CREATE TABLE IF NOT EXISTS desk_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- what changed, for the desk's live updates (polled)
    at TEXT NOT NULL,
    handoff_id INTEGER,
    kind TEXT NOT NULL,         -- opened, parent, worker, picked_up, closed, transferred, note,
                                -- reannounce, escalate, reopened, held
    worker TEXT                 -- who did it, or (transferred) who got it
);
CREATE TABLE IF NOT EXISTS desk_reads (
    worker TEXT NOT NULL,       -- the last message of a handoff a worker has seen: unread marks
    handoff_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (worker, handoff_id)
);
CREATE TABLE IF NOT EXISTS desk_files (
    id TEXT PRIMARY KEY,        -- random; the file is <data dir>/desk-files/<id>
    handoff_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS desk_passwords (
    worker TEXT PRIMARY KEY,    -- argon2id hash, set with `wegwijs desk passwd`
    hash TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS desk_sessions (
    token_hash TEXT PRIMARY KEY,  -- sha256 of the cookie's token: a copy of the database
    worker TEXT NOT NULL,         -- opens no session
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS desk_login_failures (
    key TEXT NOT NULL,          -- "login:<name>" or "ip:<address>", for throttling
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS desk_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    worker TEXT NOT NULL,       -- the login id (also a wrong one, for failed sign-ins)
    action TEXT NOT NULL,       -- sign_in, sign_in_failed, sign_out, view, file, refused
    handoff_id INTEGER,
    detail TEXT                 -- never content: an address for sign-ins, a route for refusals
);
CREATE TABLE IF NOT EXISTS desk_settings (
    name TEXT PRIMARY KEY,      -- the cookie signing key when WEGWIJS_DESK_SECRET is not set
    value TEXT NOT NULL
);
-- Registrations: what the network counts (issue 17 reports on them). No name, phone number or
-- message text; handoff_id is the only link to a family and is cleared by /forget and by the
-- retention purge of that handoff.
CREATE TABLE IF NOT EXISTS registrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    contact_on TEXT NOT NULL,   -- the day of the contact (Leuven), YYYY-MM-DD
    worker TEXT NOT NULL,
    source TEXT NOT NULL,       -- handoff (closed in the desk) or direct (walk-in, phone...)
    handoff_id INTEGER,
    contact_type TEXT NOT NULL, -- chat, walk_in, phone, home_visit, group
    channel TEXT NOT NULL DEFAULT '',   -- telegram, whatsapp ('' for a direct contact)
    language TEXT NOT NULL DEFAULT '',
    area TEXT NOT NULL DEFAULT '',
    school TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,      -- answered, referred, follow_up, no_reaction
    new_family INTEGER NOT NULL DEFAULT 0,  -- first contact with this family this school year
    follow_up_on TEXT,          -- YYYY-MM-DD: back in the worker's list that day
    follow_up_done_at TEXT,
    follow_up_reminded_on TEXT, -- the day the staff group was reminded of the promise
    participants INTEGER        -- a group moment: how many parents took part
);
CREATE INDEX IF NOT EXISTS registrations_day ON registrations (contact_on);
CREATE INDEX IF NOT EXISTS registrations_follow_up ON registrations (worker, follow_up_on);
CREATE TABLE IF NOT EXISTS handoff_times (
    -- Anonymous: how long a handoff waited to be picked up and to be closed, written when it
    -- closes, so waiting times can be reported after the handoff itself is erased. No chat key,
    -- no worker: a day, where (school, area), how (channel, language) and the durations.
    closed_on TEXT NOT NULL,    -- YYYY-MM-DD (Leuven)
    school TEXT NOT NULL DEFAULT '',
    area TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL DEFAULT '',
    urgent INTEGER NOT NULL DEFAULT 0,
    to_pickup_s INTEGER,        -- from when someone was on duty to pick-up (NULL: never picked up)
    to_close_s INTEGER NOT NULL,
    over_working_day INTEGER NOT NULL DEFAULT 0  -- waited longer than a working day (8 h of the team's hours)
);
CREATE INDEX IF NOT EXISTS handoff_times_day ON handoff_times (closed_on);
CREATE TABLE IF NOT EXISTS signals (
    -- Structural problems the network sees (no homework help in a neighbourhood, waiting
    -- lists...), for the city and the working group. Anonymous: what, not who.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,   -- the worker's key
    title TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    theme TEXT NOT NULL,
    area TEXT NOT NULL DEFAULT '',
    since TEXT,                 -- YYYY-MM-DD (or YYYY-MM-01): since when it is seen
    families INTEGER,           -- about how many families it concerns
    status TEXT NOT NULL DEFAULT 'new'  -- new, working_group, city, answered
);
CREATE TABLE IF NOT EXISTS signal_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    signal_id INTEGER NOT NULL REFERENCES signals (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS registration_themes (
    registration_id INTEGER NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
    theme TEXT NOT NULL,        -- a need id, listening_ear or new_parents
    PRIMARY KEY (registration_id, theme)
);
CREATE TABLE IF NOT EXISTS registration_services (
    registration_id INTEGER NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
    service_id TEXT NOT NULL,   -- a social map id the parent was referred to
    PRIMARY KEY (registration_id, service_id)
);
"""


BUSY_SECONDS = 10.0  # how long a write waits for another process's write


class _WriterConnection(sqlite3.Connection):
    """``BEGIN`` takes the write lock at once (``BEGIN IMMEDIATE``): a transaction that reads
    and then writes can otherwise fail at once with "database is locked" when another process
    wrote in between, instead of waiting its turn (WAL's snapshot rule)."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return super().execute("BEGIN IMMEDIATE" if sql == "BEGIN" else sql, *args)


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
    """SQLite-backed chat state. One connection, guarded by a lock; WAL for crash safety.

    Every time it stamps comes from ``clock`` (:mod:`bot.clock`); the engine, the handoff desk
    and every store that shares this connection take their time from it too."""

    def __init__(
        self, path: Path | str, clock: Clock = system_clock, replica: str | None = None
    ) -> None:
        self.clock = clock
        self.replica = replica or replica_name()  # this process, in claims (bot/replicas)
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path,
            check_same_thread=False,
            isolation_level=None,
            timeout=BUSY_SECONDS,
            factory=_WriterConnection,
        )
        self._db.row_factory = sqlite3.Row
        # Several processes (replicas) may share this file: WAL lets readers run beside the
        # writer, and a writer waits for another's write instead of failing.
        self._db.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # Erased rows are overwritten with zeros, not just unlinked: /forget means gone.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(SCHEMA)
        self._migrate()
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        """Add columns that newer versions need to a database made by an older one."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(chats)")}
        if "handoff_reason" not in have:
            self._db.execute("ALTER TABLE chats ADD COLUMN handoff_reason TEXT")
        if "last_services" not in have:
            self._db.execute("ALTER TABLE chats ADD COLUMN last_services TEXT")
            self._db.execute(
                "ALTER TABLE chats ADD COLUMN checkback_offered INTEGER NOT NULL DEFAULT 0"
            )
        handoffs = {row[1] for row in self._db.execute("PRAGMA table_info(handoffs)")}
        if "helped" not in handoffs:
            self._db.execute("ALTER TABLE handoffs ADD COLUMN helped TEXT")
        if "pending_detail" not in have:
            self._db.execute("ALTER TABLE chats ADD COLUMN pending_detail TEXT")
        if "quiet_alarm_at" not in handoffs:
            self._db.execute("ALTER TABLE handoffs ADD COLUMN quiet_alarm_at TEXT")
            self._db.execute("ALTER TABLE handoffs ADD COLUMN timed INTEGER NOT NULL DEFAULT 0")
        registered = {row[1] for row in self._db.execute("PRAGMA table_info(registrations)")}
        for column in ("follow_up_reminded_on TEXT", "participants INTEGER"):
            if column.split()[0] not in registered:
                self._db.execute(f"ALTER TABLE registrations ADD COLUMN {column}")
        updates = {row[1] for row in self._db.execute("PRAGMA table_info(telegram_updates)")}
        if "lane" not in updates:
            self._db.execute(
                "ALTER TABLE telegram_updates ADD COLUMN lane TEXT NOT NULL DEFAULT ''"
            )
        queued = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        for column in ("sending_by", "sending_at"):
            if column not in queued:
                self._db.execute(f"ALTER TABLE outbox ADD COLUMN {column} TEXT")
        seen = {row[1] for row in self._db.execute("PRAGMA table_info(seen_messages)")}
        if "chat_key" not in seen:
            self._db.execute(
                "ALTER TABLE seen_messages ADD COLUMN chat_key TEXT NOT NULL DEFAULT ''"
            )
        self._migrate_worker_keys()
        said = {row[1] for row in self._db.execute("PRAGMA table_info(handoff_messages)")}
        for column in ("media", "author"):
            if column not in said:
                self._db.execute(f"ALTER TABLE handoff_messages ADD COLUMN {column} TEXT")
        self._db.executescript(
            "CREATE INDEX IF NOT EXISTS handoffs_worker ON handoffs (worker_key, status);"
            "CREATE INDEX IF NOT EXISTS handoff_messages_handoff ON handoff_messages "
            "(handoff_id, id);"
            "CREATE INDEX IF NOT EXISTS desk_events_handoff ON desk_events (handoff_id);"
            "CREATE INDEX IF NOT EXISTS desk_login_failures_key ON desk_login_failures (key, at);"
            "CREATE INDEX IF NOT EXISTS inbox_chat ON inbox (chat_key, id);"
            "CREATE INDEX IF NOT EXISTS telegram_updates_lane ON telegram_updates (lane, update_id);"
            "CREATE INDEX IF NOT EXISTS claims_owner ON claims (owner);"
        )

    def _migrate_worker_keys(self) -> None:
        """Handoffs once named their worker by Telegram user id (``worker_id``, ``routed_to``);
        now by the worker's key, because a desk-only worker has no Telegram. Old ids become
        ``tg:<id>``, which the team resolves and the desk rewrites to the worker's key at
        start (:meth:`bot.handoff.store.HandoffStore.adopt_legacy_keys`)."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(handoffs)")}
        if "worker_id" not in have:
            return
        self._db.execute("BEGIN")
        try:
            for old, new in (("worker_id", "worker_key"), ("routed_to", "routed_key")):
                if new not in have:
                    self._db.execute(f"ALTER TABLE handoffs ADD COLUMN {new} TEXT")
                self._db.execute(
                    f"UPDATE handoffs SET {new} = 'tg:' || {old} "
                    f"WHERE {old} IS NOT NULL AND {new} IS NULL"
                )
                self._db.execute(f"ALTER TABLE handoffs DROP COLUMN {old}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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
        marks = ", ".join(f":{k}" for k in data)
        updates = ", ".join(f"{k} = excluded.{k}" for k in data if k != "chat_key")
        with self._lock:
            self._db.execute(
                f"INSERT INTO chats ({cols}) VALUES ({marks}) "
                f"ON CONFLICT(chat_key) DO UPDATE SET {updates}",
                data,
            )

    def forget(self, chat_key: str) -> None:
        """Erase everything tied to this chat: its state, handoffs, transcripts, queued messages."""
        with self._lock:
            self._db.execute("BEGIN")
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
            self._db.execute("COMMIT")

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
        marks = ", ".join("?" * len(handoff_ids))
        counts: dict[str, int] = {}
        with self._lock:
            self._db.execute("BEGIN")
            try:
                counts["transcript messages"] = self._db.execute(
                    f"DELETE FROM handoff_messages WHERE handoff_id IN ({marks})", handoff_ids
                ).rowcount
                for table in ("desk_events", "desk_reads", "desk_files"):
                    self._db.execute(
                        f"DELETE FROM {table} WHERE handoff_id IN ({marks})", handoff_ids
                    )
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
                counts["queued messages"] += self._db.execute(
                    "DELETE FROM outbox WHERE status IN ('held', 'undeliverable') "
                    "AND created_at < ?",
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
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return counts

    def record_unmet_need(self, need: str, area: str | None, language: str) -> None:
        day = local_day(self.clock()).isoformat()
        with self._lock:
            self._db.execute(
                "INSERT INTO unmet_needs (day, need, area, language, count) VALUES (?, ?, ?, ?, 1) "
                "ON CONFLICT(day, need, area, language) DO UPDATE SET count = count + 1",
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
                "VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT(day, reason, need, area, language, "
                "urgent) DO UPDATE SET count = count + 1",
                (day, reason, need or "", area or "", language, int(urgent)),
            )

    def count_helped(self, handoff_id: int, chat_key: str, answer: str) -> bool:
        """The parent's one tap after a handoff closed: counted once per handoff, anonymously.
        False when it was given already (a double tap) or the handoff is not theirs."""
        day = local_day(self.clock()).isoformat()
        with self._lock:
            self._db.execute("BEGIN")
            try:
                cur = self._db.execute(
                    "UPDATE handoffs SET helped = ? WHERE id = ? AND chat_key = ? "
                    "AND status = 'closed' AND helped IS NULL",
                    (answer, handoff_id, chat_key),
                )
                if cur.rowcount == 1:
                    self._db.execute(
                        "INSERT INTO helped_counts (day, answer, count) VALUES (?, ?, 1) "
                        "ON CONFLICT(day, answer) DO UPDATE SET count = count + 1",
                        (day, answer),
                    )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
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
                "INSERT OR IGNORE INTO seen_messages (channel, message_id, at, chat_key) "
                "VALUES (?, ?, ?, ?)",
                (channel, message_id, utc_iso(self.clock()), chat_key),
            )
        return cur.rowcount == 1

    def accept(self, chat_key: str, message: str, channel: str, message_id: str | None) -> int:
        """Take a parent's message in: 0 if this platform id was seen before (a re-delivery),
        else the id of its inbox row. Both in one transaction, so a message is never marked
        seen without being kept until :meth:`handled`."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                if message_id:
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO seen_messages (channel, message_id, at, chat_key) "
                        "VALUES (?, ?, ?, ?)",
                        (channel, message_id, utc_iso(self.clock()), chat_key),
                    )
                    if cur.rowcount != 1:
                        self._db.execute("ROLLBACK")
                        return 0
                cur = self._db.execute(
                    "INSERT INTO inbox (chat_key, message, at) VALUES (?, ?, ?)",
                    (chat_key, message, utc_iso(self.clock())),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return int(cur.lastrowid or 0)

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
                "ON CONFLICT(chat_key) DO UPDATE SET "
                "last_inbound = max(last_inbound, excluded.last_inbound), nudged_at = NULL",
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
                "ON CONFLICT(chat_key) DO UPDATE SET nudged_at = excluded.nudged_at",
                (chat_key, at),
            )

    def language_of(self, chat_key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT language FROM chats WHERE chat_key = ?", (chat_key,)
            ).fetchone()
        return row[0] if row else None

    @property
    def connection(self) -> tuple[sqlite3.Connection, threading.Lock]:
        """The shared connection and its lock, for the handoff store in the same database."""
        return self._db, self._lock

    def close(self) -> None:
        self._db.close()
