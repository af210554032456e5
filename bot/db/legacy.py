"""The schema as it was before Alembic, and the hand-written upgrades it had (SQLite only).

A state database made by an older Wegwijs has these tables and no ``alembic_version``. At
its first open by this version, :func:`adopt` brings it to exactly what the baseline revision
describes (tables an old version did not have yet, columns added since, the worker-key
rewrite), once, and :mod:`bot.db.migrate` then stamps it with the baseline. Frozen: later
changes are Alembic revisions (``bot/db/migrations/versions``), never edits here.
"""

from __future__ import annotations

from bot.db.sqlite import SQLiteDatabase

LEGACY_SCHEMA = """
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
    status TEXT NOT NULL DEFAULT 'pending'   -- pending, held, undeliverable (sent: deleted)
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
    at TEXT NOT NULL                -- is never lost: see bot/channels/telegram/inbox.py
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


def adopt(db: SQLiteDatabase) -> None:
    """Bring a pre-Alembic database to the baseline: missing tables, then missing columns."""
    db.executescript(LEGACY_SCHEMA)
    have = {row[1] for row in db.connection.execute("PRAGMA table_info(chats)")}
    if "handoff_reason" not in have:
        db.connection.execute("ALTER TABLE chats ADD COLUMN handoff_reason TEXT")
    if "last_services" not in have:
        db.connection.execute("ALTER TABLE chats ADD COLUMN last_services TEXT")
        db.connection.execute(
            "ALTER TABLE chats ADD COLUMN checkback_offered INTEGER NOT NULL DEFAULT 0"
        )
    handoffs = {row[1] for row in db.connection.execute("PRAGMA table_info(handoffs)")}
    if "helped" not in handoffs:
        db.connection.execute("ALTER TABLE handoffs ADD COLUMN helped TEXT")
    if "pending_detail" not in have:
        db.connection.execute("ALTER TABLE chats ADD COLUMN pending_detail TEXT")
    if "quiet_alarm_at" not in handoffs:
        db.connection.execute("ALTER TABLE handoffs ADD COLUMN quiet_alarm_at TEXT")
        db.connection.execute("ALTER TABLE handoffs ADD COLUMN timed INTEGER NOT NULL DEFAULT 0")
    registered = {row[1] for row in db.connection.execute("PRAGMA table_info(registrations)")}
    for column in ("follow_up_reminded_on TEXT", "participants INTEGER"):
        if column.split()[0] not in registered:
            db.connection.execute(f"ALTER TABLE registrations ADD COLUMN {column}")
    seen = {row[1] for row in db.connection.execute("PRAGMA table_info(seen_messages)")}
    if "chat_key" not in seen:
        db.connection.execute(
            "ALTER TABLE seen_messages ADD COLUMN chat_key TEXT NOT NULL DEFAULT ''"
        )
    _worker_keys(db)
    said = {row[1] for row in db.connection.execute("PRAGMA table_info(handoff_messages)")}
    for column in ("media", "author"):
        if column not in said:
            db.connection.execute(f"ALTER TABLE handoff_messages ADD COLUMN {column} TEXT")
    db.connection.executescript(
        "CREATE INDEX IF NOT EXISTS handoffs_worker ON handoffs (worker_key, status);"
        "CREATE INDEX IF NOT EXISTS handoff_messages_handoff ON handoff_messages "
        "(handoff_id, id);"
        "CREATE INDEX IF NOT EXISTS desk_events_handoff ON desk_events (handoff_id);"
        "CREATE INDEX IF NOT EXISTS desk_login_failures_key ON desk_login_failures (key, at);"
    )


def _worker_keys(db: SQLiteDatabase) -> None:
    """Handoffs once named their worker by Telegram user id (``worker_id``, ``routed_to``);
    now by the worker's key, because a desk-only worker has no Telegram. Old ids become
    ``tg:<id>``, which the team resolves and the desk rewrites to the worker's key at
    start (:meth:`bot.handoff.store.HandoffStore.adopt_legacy_keys`)."""
    have = {row[1] for row in db.connection.execute("PRAGMA table_info(handoffs)")}
    if "worker_id" not in have:
        return
    db.connection.execute("BEGIN")
    try:
        for old, new in (("worker_id", "worker_key"), ("routed_to", "routed_key")):
            if new not in have:
                db.connection.execute(f"ALTER TABLE handoffs ADD COLUMN {new} TEXT")
            db.connection.execute(
                f"UPDATE handoffs SET {new} = 'tg:' || {old} "
                f"WHERE {old} IS NOT NULL AND {new} IS NULL"
            )
            db.connection.execute(f"ALTER TABLE handoffs DROP COLUMN {old}")
    except BaseException:
        db.connection.execute("ROLLBACK")
        raise
    db.connection.execute("COMMIT")
