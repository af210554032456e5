"""Telegram: parents in private chats, bridge workers in a forum staff group (python-telegram-bot)."""
