"""The state database behind one interface, on SQLite (the default) or PostgreSQL.

``WEGWIJS_DATABASE_URL=postgresql://...`` puts the bot's state in PostgreSQL; unset, it is a
SQLite file in the data directory as it always was. The stores (:mod:`bot.conversation.state`,
:mod:`bot.handoff`, :mod:`bot.desk`...) write one portable SQL for both: ``?`` placeholders,
``ON CONFLICT`` instead of ``INSERT OR IGNORE/REPLACE``, ``RETURNING id`` instead of
``lastrowid``, no engine-only functions (times are computed in Python from the bot's clock).
The schema is versioned with Alembic (:mod:`bot.db.migrate`).
"""

from bot.db.base import Database, Result, Row
from bot.db.open import open_database
from bot.db.target import DatabaseTarget, database_target, mask_url

__all__ = [
    "Database",
    "DatabaseTarget",
    "Result",
    "Row",
    "database_target",
    "mask_url",
    "open_database",
]
