"""Alembic's environment: migrations run on the connection :mod:`bot.db.migrate` gives.

On PostgreSQL the whole upgrade is one transaction holding an advisory lock, so replicas that
start together upgrade once, one after the other (the second finds nothing to do)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

MIGRATION_LOCK = 0x5745_4757  # "WEGW": pg_advisory_xact_lock key for upgrades

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    transaction_per_migration=False,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
    context.run_migrations()
