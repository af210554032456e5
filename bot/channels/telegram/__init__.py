"""Telegram: parents in private chats, bridge workers in a forum staff group (python-telegram-bot)."""

import os

# Opt in to python-telegram-bot's coming behaviour (RetryAfter.retry_after as a timedelta), so
# its rate limiter does not warn on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")
