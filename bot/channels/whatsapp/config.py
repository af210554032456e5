"""WhatsApp settings, from the environment only (the token and app secret are secrets)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_API = "https://graph.facebook.com/v23.0"
DEFAULT_TEMPLATE = "wegwijs_answer_waiting"
DEFAULT_CHECKBACK_TEMPLATE = "wegwijs_checkback"


class WhatsAppConfigError(ValueError):
    pass


@dataclass(frozen=True)
class WhatsAppConfig:
    token: str
    phone_number_id: str
    app_secret: str  # signs every webhook call (X-Hub-Signature-256)
    verify_token: str  # our answer to Meta's one-time webhook verification
    api_base_url: str = DEFAULT_API
    template_name: str = DEFAULT_TEMPLATE  # "you have an answer", for after the 24-hour window
    checkback_template: str = DEFAULT_CHECKBACK_TEMPLATE  # "did you reach ...?", the same

    def __repr__(self) -> str:  # never print the secrets, e.g. in a traceback
        return (
            f"WhatsAppConfig(phone_number_id={self.phone_number_id!r}, api={self.api_base_url!r})"
        )

    @classmethod
    def from_env(cls) -> WhatsAppConfig | None:
        """None when ``WHATSAPP_TOKEN`` is not set: the channel is simply not run."""
        token = os.environ.get("WHATSAPP_TOKEN", "").strip()
        if not token:
            return None
        values = {
            name: os.environ.get(name, "").strip()
            for name in ("WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN")
        }
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise WhatsAppConfigError(
                f"WHATSAPP_TOKEN is set but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not (see docs/operators.md)"
            )
        return cls(
            token=token,
            phone_number_id=values["WHATSAPP_PHONE_NUMBER_ID"],
            app_secret=values["WHATSAPP_APP_SECRET"],
            verify_token=values["WHATSAPP_VERIFY_TOKEN"],
            api_base_url=os.environ.get("WHATSAPP_API_BASE_URL", "").strip() or DEFAULT_API,
            template_name=os.environ.get("WHATSAPP_TEMPLATE_NAME", "").strip() or DEFAULT_TEMPLATE,
            checkback_template=os.environ.get("WHATSAPP_CHECKBACK_TEMPLATE", "").strip()
            or DEFAULT_CHECKBACK_TEMPLATE,
        )
