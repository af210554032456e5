"""The one message type every channel adapter speaks (in and out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["text", "button", "photo", "document", "voice", "location", "other"]


@dataclass(frozen=True)
class Button:
    label: str
    payload: str  # e.g. "lang:ar", "need:food", "area:heverlee", "handoff:yes"


@dataclass(frozen=True)
class MediaRef:
    """A parent's or worker's photo, document or voice note, by reference to where it lives.

    Files stay on the platform until a bridge worker needs them: Telegram copies a message by
    id, so the bot never downloads it. (Relaying files between platforms comes with WhatsApp.)
    """

    channel: str  # where the file lives: telegram, whatsapp
    kind: str  # photo, document, voice, audio, video
    file_id: str
    chat_id: str | None = None  # the source chat and message, so Telegram can copy it
    message_id: int | None = None
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A parent's message as the engine sees it, independent of Telegram or WhatsApp."""

    chat_id: str
    text: str = ""
    kind: Kind = "text"
    payload: str | None = None  # set when kind == "button"
    language_hint: str | None = None  # the platform's language, e.g. Telegram's "fr-BE"
    channel: str = "terminal"
    message_id: str | None = None  # the platform's id: a message delivered twice is handled once
    media: MediaRef | None = None

    @property
    def chat_key(self) -> str:
        return f"{self.channel}:{self.chat_id}"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True)
class HandoffRequest:
    """The parent said yes: pass this conversation on to a bridge worker."""

    reason: str  # human_request, crisis, media, not_understood, unmet_need
    urgent: bool
    language: str
    need: str | None = None
    area: str | None = None
    school: str | None = None


@dataclass
class Outcome:
    """What the engine decided for one message: the replies plus why (for tests and `ask`)."""

    replies: list[Reply]
    language: str
    intent: str | None = None
    confidence: float = 0.0
    entities: list[dict[str, str]] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    handoff: bool = False
    urgent: bool = False
    forgotten: bool = False  # /forget erased the chat: nothing may be saved for it afterwards
    handoff_request: HandoffRequest | None = None

    @property
    def reply(self) -> str:
        return "\n\n".join(r.text for r in self.replies)
