"""Several replicas on one database (issue 18): claims, and what they need in two tables.

- ``claims``: "this replica does X until T" (a chat's inbox, a Telegram lane, an outbox key, a
  periodic job); ``knocks`` counts other replicas asking for it while it is held, so a wake-up
  is never lost (:mod:`bot.replicas.claims`).
- ``telegram_updates.lane``: the chat (or staff topic) of an update, handled in order per lane.
- ``outbox.sending_by`` / ``sending_at``: the replica whose request for a row may be under way
  (the window between a send and its deletion, :mod:`bot.handoff.outbox`).

Revision ID: 0002_replicas
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_replicas"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("name", TEXT, primary_key=True),
        sa.Column("owner", TEXT, nullable=False),
        sa.Column("expires_at", TEXT, nullable=False),
        sa.Column("knocks", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.create_index("claims_owner", "claims", ["owner"])
    with op.batch_alter_table("telegram_updates") as table:
        table.add_column(sa.Column("lane", TEXT, nullable=False, server_default=sa.text("''")))
    op.create_index("telegram_updates_lane", "telegram_updates", ["lane", "update_id"])
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("sending_by", TEXT, nullable=True))
        table.add_column(sa.Column("sending_at", TEXT, nullable=True))
    op.create_index("inbox_chat", "inbox", ["chat_key", "id"])


def downgrade() -> None:
    op.drop_index("inbox_chat", table_name="inbox")
    with op.batch_alter_table("outbox") as table:
        table.drop_column("sending_at")
        table.drop_column("sending_by")
    op.drop_index("telegram_updates_lane", table_name="telegram_updates")
    with op.batch_alter_table("telegram_updates") as table:
        table.drop_column("lane")
    op.drop_index("claims_owner", table_name="claims")
    op.drop_table("claims")
