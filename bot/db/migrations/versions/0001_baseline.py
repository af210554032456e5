"""Baseline: the whole state schema as it was when Alembic took over (issue 18).

Written with SQLAlchemy types so each engine gets its own DDL: an ``id`` that numbers itself
is ``INTEGER PRIMARY KEY AUTOINCREMENT`` on SQLite (never reused after a delete) and an
identity column on PostgreSQL; REAL is double precision; text compares byte by byte on both
(``COLLATE "C"`` on PostgreSQL), so ISO times and names sort the same everywhere. Flags stay
integers 0/1 as they always were. A database made before Alembic is brought here by
:func:`bot.db.legacy.adopt` and stamped, not created again.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
INT = sa.Integer()
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # platform ids (Telegram's are big)
REAL = sa.Double()
AUTO = {"sqlite_autoincrement": True}


def _id() -> sa.Column[Any]:
    return sa.Column("id", INT, sa.Identity(), primary_key=True)


def text(name: str, *, null: bool = True, default: str | None = None, **kw: Any) -> sa.Column[Any]:
    server = sa.text(f"'{default}'") if default is not None else None
    return sa.Column(name, TEXT, nullable=null, server_default=server, **kw)


def integer(
    name: str, *, null: bool = True, default: int | None = None, big: bool = False, **kw: Any
) -> sa.Column[Any]:
    server = sa.text(str(default)) if default is not None else None
    return sa.Column(name, BIG if big else INT, nullable=null, server_default=server, **kw)


def upgrade() -> None:
    op.create_table(
        "chats",
        text("chat_key", primary_key=True),
        text("language"),
        text("area"),
        integer("area_asked", null=False, default=0),
        text("school"),
        text("last_need"),
        text("pending_need"),
        text("awaiting"),
        integer("consent"),
        integer("failures", null=False, default=0),
        integer("greeted", null=False, default=0),
        text("handoff_reason"),
        text("last_services"),
        integer("checkback_offered", null=False, default=0),
        text("pending_detail"),
        text("updated_at", null=False),
    )
    op.create_table(
        "unmet_needs",
        text("day", null=False, primary_key=True),
        text("need", null=False, primary_key=True),
        text("area", null=False, default="", primary_key=True),
        text("language", null=False, default="", primary_key=True),
        integer("count", null=False, default=0),
    )
    op.create_table(
        "handoffs",
        _id(),
        text("chat_key", null=False),
        text("channel", null=False),
        text("chat_id", null=False),
        text("status", null=False, default="waiting"),
        text("reason", null=False),
        integer("urgent", null=False, default=0),
        text("need"),
        text("area"),
        text("school"),
        text("language", null=False),
        text("routed_key"),
        text("routed_why"),
        text("worker_key"),
        integer("topic_id", big=True),
        integer("summary_message_id", big=True),
        text("created_at", null=False),
        text("due_at", null=False),
        text("announced_at"),
        text("escalated_at"),
        text("picked_up_at"),
        text("closed_at"),
        text("helped"),
        text("quiet_alarm_at"),
        integer("timed", null=False, default=0),
        **AUTO,
    )
    op.create_index("handoffs_chat", "handoffs", ["chat_key", "status"])
    op.create_index("handoffs_topic", "handoffs", ["topic_id"])
    op.create_index("handoffs_worker", "handoffs", ["worker_key", "status"])
    op.create_table(
        "handoff_messages",
        _id(),
        sa.Column(
            "handoff_id",
            INT,
            sa.ForeignKey("handoffs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        text("at", null=False),
        text("sender", null=False),
        text("kind", null=False),
        text("text", null=False, default=""),
        text("media"),
        text("author"),
        **AUTO,
    )
    op.create_index("handoff_messages_handoff", "handoff_messages", ["handoff_id", "id"])
    op.create_table(
        "outbox",
        _id(),
        text("lane", null=False),
        text("key", null=False),
        integer("handoff_id"),
        text("action", null=False),
        text("payload", null=False),
        text("created_at", null=False),
        text("not_before"),
        integer("attempts", null=False, default=0),
        text("status", null=False, default="pending"),
        **AUTO,
    )
    op.create_index("outbox_pending", "outbox", ["lane", "status", "id"])
    op.create_table(
        "contact_windows",
        text("chat_key", primary_key=True),
        sa.Column("last_inbound", REAL, nullable=False),
        sa.Column("nudged_at", REAL),
    )
    op.create_table(
        "handoff_counts",
        text("day", null=False, primary_key=True),
        text("reason", null=False, primary_key=True),
        text("need", null=False, default="", primary_key=True),
        text("area", null=False, default="", primary_key=True),
        text("language", null=False, default="", primary_key=True),
        integer("urgent", null=False, default=0, primary_key=True),
        integer("count", null=False, default=0),
    )
    op.create_table(
        "inbox",
        _id(),
        text("chat_key", null=False),
        text("message", null=False),
        text("at", null=False),
        **AUTO,
    )
    op.create_table(
        "checkbacks",
        _id(),
        text("chat_key", null=False, unique=True),
        text("language", null=False),
        text("services", null=False),
        text("created_at", null=False),
        text("due_at", null=False),
        text("asked_at"),
        **AUTO,
    )
    op.create_table(
        "checkback_answers",
        text("day", null=False, primary_key=True),
        text("service", null=False, primary_key=True),
        text("answer", null=False, primary_key=True),
        integer("count", null=False, default=0),
    )
    op.create_table(
        "helped_counts",
        text("day", null=False, primary_key=True),
        text("answer", null=False, primary_key=True),
        integer("count", null=False, default=0),
    )
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", BIG, primary_key=True, autoincrement=False),
        text("body", null=False),
        text("at", null=False),
    )
    op.create_table(
        "seen_messages",
        text("channel", null=False, primary_key=True),
        text("message_id", null=False, primary_key=True),
        text("at", null=False),
        text("chat_key", null=False, default=""),
    )
    op.create_table(
        "desk_events",
        _id(),
        text("at", null=False),
        integer("handoff_id"),
        text("kind", null=False),
        text("worker"),
        **AUTO,
    )
    op.create_index("desk_events_handoff", "desk_events", ["handoff_id"])
    op.create_table(
        "desk_reads",
        text("worker", null=False, primary_key=True),
        integer("handoff_id", null=False, primary_key=True, autoincrement=False),
        integer("message_id", null=False),
    )
    op.create_table(
        "desk_files",
        text("id", primary_key=True),
        integer("handoff_id", null=False),
        text("name", null=False),
        text("mime_type", null=False),
        integer("size", null=False, big=True),
        text("created_at", null=False),
    )
    op.create_table(
        "desk_passwords",
        text("worker", primary_key=True),
        text("hash", null=False),
        text("set_at", null=False),
    )
    op.create_table(
        "desk_sessions",
        text("token_hash", primary_key=True),
        text("worker", null=False),
        text("csrf", null=False),
        text("created_at", null=False),
        text("seen_at", null=False),
    )
    op.create_table(
        "desk_login_failures",
        text("key", null=False),
        text("at", null=False),
    )
    op.create_index("desk_login_failures_key", "desk_login_failures", ["key", "at"])
    op.create_table(
        "desk_audit",
        _id(),
        text("at", null=False),
        text("worker", null=False),
        text("action", null=False),
        integer("handoff_id"),
        text("detail"),
        **AUTO,
    )
    op.create_table(
        "desk_settings",
        text("name", primary_key=True),
        text("value", null=False),
    )
    op.create_table(
        "registrations",
        _id(),
        text("created_at", null=False),
        text("contact_on", null=False),
        text("worker", null=False),
        text("source", null=False),
        integer("handoff_id"),
        text("contact_type", null=False),
        text("channel", null=False, default=""),
        text("language", null=False, default=""),
        text("area", null=False, default=""),
        text("school", null=False, default=""),
        text("outcome", null=False),
        integer("new_family", null=False, default=0),
        text("follow_up_on"),
        text("follow_up_done_at"),
        text("follow_up_reminded_on"),
        integer("participants"),
        **AUTO,
    )
    op.create_index("registrations_day", "registrations", ["contact_on"])
    op.create_index("registrations_follow_up", "registrations", ["worker", "follow_up_on"])
    op.create_table(
        "handoff_times",
        text("closed_on", null=False),
        text("school", null=False, default=""),
        text("area", null=False, default=""),
        text("language", null=False, default=""),
        text("channel", null=False, default=""),
        integer("urgent", null=False, default=0),
        integer("to_pickup_s"),
        integer("to_close_s", null=False),
        integer("over_working_day", null=False, default=0),
    )
    op.create_index("handoff_times_day", "handoff_times", ["closed_on"])
    op.create_table(
        "signals",
        _id(),
        text("created_at", null=False),
        text("created_by", null=False),
        text("title", null=False),
        text("detail", null=False, default=""),
        text("theme", null=False),
        text("area", null=False, default=""),
        text("since"),
        integer("families"),
        text("status", null=False, default="new"),
        **AUTO,
    )
    op.create_table(
        "signal_history",
        _id(),
        sa.Column(
            "signal_id", INT, sa.ForeignKey("signals.id", ondelete="CASCADE"), nullable=False
        ),
        text("at", null=False),
        text("by", null=False),
        text("status", null=False),
        text("note", null=False, default=""),
        **AUTO,
    )
    op.create_table(
        "registration_themes",
        sa.Column(
            "registration_id",
            INT,
            sa.ForeignKey("registrations.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        text("theme", null=False, primary_key=True),
    )
    op.create_table(
        "registration_services",
        sa.Column(
            "registration_id",
            INT,
            sa.ForeignKey("registrations.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        text("service_id", null=False, primary_key=True),
    )


def downgrade() -> None:
    raise NotImplementedError("the baseline is where the history starts")
