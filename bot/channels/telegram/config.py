"""Telegram settings, from the environment only (the token is a secret)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

DEFAULT_API = "https://api.telegram.org"


class TelegramConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    staff_chat_id: int | None = None
    api_base_url: str = DEFAULT_API  # a self-hosted Bot API server, or a fake one in tests
    webhook_url: str | None = None  # public https base URL: webhook mode instead of polling
    webhook_secret: str = ""
    poll_timeout: int = 30

    @property
    def base_url(self) -> str:
        return f"{self.api_base_url.rstrip('/')}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_base_url.rstrip('/')}/file/bot"

    @classmethod
    def from_env(cls) -> TelegramConfig | None:
        """None when ``TELEGRAM_BOT_TOKEN`` is not set: the channel is simply not run."""
        token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            return None
        staff = os.environ.get("TELEGRAM_STAFF_CHAT_ID", "").strip()
        try:
            staff_chat_id = int(staff) if staff else None
        except ValueError as error:
            raise TelegramConfigError(
                "TELEGRAM_STAFF_CHAT_ID must be the numeric id of the staff group, "
                "like -1001234567890"
            ) from error
        return cls(
            token=token,
            staff_chat_id=staff_chat_id,
            api_base_url=os.environ.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API,
            webhook_url=os.environ.get("TELEGRAM_WEBHOOK_URL", "").strip() or None,
            # Telegram echoes this in every webhook call; a fresh one per start is fine because
            # setWebhook is called at every start.
            webhook_secret=os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
            or secrets.token_urlsafe(32),
        )
