"""Between WhatsApp Cloud API JSON and the bot's own message types.

Inbound: one webhook ``messages`` entry becomes an :class:`Incoming`. Outbound: one
:class:`Reply` becomes one or more Graph API messages, because WhatsApp's menus are stricter
than Telegram's: at most 3 reply buttons (titles up to 20 characters) or a list of at most 10
rows (titles up to 24). A longer menu, like the 17 topics, is sent as several lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.conversation.i18n import Lang
from bot.conversation.messages import Incoming, Kind, MediaRef

CHANNEL = "whatsapp"
MAX_TEXT = 4096
MAX_BUTTON_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_LIST_BUTTON = 20
MAX_CAPTION = 1024

Message = dict[str, Any]
Choices = list[tuple[str, str]]  # (label, payload)


@dataclass(frozen=True)
class Inbound:
    """One parent message from a webhook: who, when, and what the bot should make of it."""

    wa_id: str
    at: float  # unix time, from WhatsApp
    incoming: Incoming | None  # None: nothing for the conversation (a reaction, a system note)
    nudge: bool = False  # the button of our "you have an answer" template: just deliver


# WhatsApp media type -> (our kind for the engine, MediaRef kind)
MEDIA: dict[str, tuple[Kind, str]] = {
    "image": ("photo", "photo"),
    "document": ("document", "document"),
    "audio": ("voice", "voice"),
    "video": ("document", "video"),
}


def inbound(raw: dict[str, Any]) -> Inbound | None:
    """A webhook message, or None when it is not one we can read at all."""
    wa_id = str(raw.get("from") or "")
    message_id = str(raw.get("id") or "")
    if not wa_id or not message_id:
        return None
    try:
        at = float(raw.get("timestamp") or 0)
    except (TypeError, ValueError):
        at = 0.0
    kind = raw.get("type")

    def make(kind: Kind, text: str = "", **extra: Any) -> Inbound:
        msg = Incoming(wa_id, text, kind, channel=CHANNEL, message_id=message_id, **extra)
        return Inbound(wa_id, at, msg)

    body = raw.get(kind) if isinstance(kind, str) else None
    body = body if isinstance(body, dict) else {}
    if kind == "text":
        return make("text", str(body.get("body", "")))
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply") or {}
        return make("button", str(reply.get("title", "")), payload=str(reply.get("id", "")))
    if kind == "button":  # the quick-reply button of a template message
        payload = str(body.get("payload") or "")
        if payload.startswith("checkback:"):  # the check-back template: answer like a button
            return make("button", str(body.get("text", "")), payload=payload)
        return Inbound(wa_id, at, None, nudge=True)
    if kind in MEDIA and body.get("id"):
        our_kind, media_kind = MEDIA[kind]
        if kind == "audio" and not body.get("voice"):
            media_kind = "audio"
        media = MediaRef(
            CHANNEL,
            media_kind,
            str(body["id"]),
            chat_id=wa_id,
            file_name=body.get("filename"),
            mime_type=body.get("mime_type"),
        )
        return make(our_kind, str(body.get("caption", "")), media=media)
    if kind == "location":
        return make("location")
    if kind in ("reaction", "system", "request_welcome"):
        return Inbound(wa_id, at, None)
    return make("other")  # stickers, contacts, polls, "unsupported"


# -- outbound ---------------------------------------------------------------------------------


def text_parts(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line breaks so that no part is longer than WhatsApp allows."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one enormous line
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    parts.append(current)
    return [part for part in parts if part.strip()] or ["…"]


def _short(label: str, limit: int) -> str:
    label = " ".join(label.split())
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def reply_messages(text: str, choices: Choices, t: Lang) -> list[Message]:
    """The Graph API messages for one reply: text, reply buttons, or lists."""
    if not choices:
        return [_text(part) for part in text_parts(text)]
    fits_buttons = len(choices) <= MAX_BUTTONS and all(
        len(label) <= MAX_BUTTON_TITLE for label, _ in choices
    )
    body_limit = MAX_BUTTON_BODY if fits_buttons else MAX_TEXT
    parts = text_parts(text, body_limit)
    messages = [_text(part) for part in parts[:-1]]
    body = parts[-1]
    if fits_buttons:
        messages.append(_buttons(body, choices))
        return messages
    count = math.ceil(len(choices) / MAX_ROWS)
    size = math.ceil(len(choices) / count)  # 17 topics: 9 + 8 rather than 10 + 7
    for n in range(count):
        chunk = choices[n * size : (n + 1) * size]
        messages.append(_list(body if n == 0 else t._("More choices:"), chunk, t._("Choose")))
    return messages


def _text(body: str) -> Message:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def _buttons(body: str, choices: Choices) -> Message:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": payload[:256], "title": label}}
                    for label, payload in choices
                ]
            },
        },
    }


def _list(body: str, choices: Choices, button: str) -> Message:
    rows = []
    for label, payload in choices:
        row = {"id": payload[:200], "title": _short(label, MAX_ROW_TITLE)}
        if row["title"] != label:  # cut short: the description shows it in full
            row["description"] = _short(label, MAX_ROW_DESCRIPTION)
        rows.append(row)
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": _short(button, MAX_LIST_BUTTON), "sections": [{"rows": rows}]},
        },
    }


# media: our kind -> WhatsApp's type (photos and voice notes keep their nature)
SEND_TYPE = {"photo": "image", "document": "document", "voice": "audio", "audio": "audio"}
IMAGE_TYPES = ("image/jpeg", "image/png")


def media_message(
    kind: str, media_id: str, mime_type: str, file_name: str, caption: str
) -> Message:
    """A file we uploaded. WhatsApp takes only JPEG and PNG as images and no audio captions."""
    send_type = SEND_TYPE.get(kind, "document")
    if send_type == "image" and mime_type not in IMAGE_TYPES:
        send_type = "document"
    body: dict[str, Any] = {"id": media_id}
    if send_type == "document":
        body["filename"] = file_name
    if send_type != "audio" and caption:
        body["caption"] = caption[:MAX_CAPTION]
    return {"type": send_type, send_type: body}


def template_message(name: str, language: str, worker: str) -> Message:
    return {
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": worker}]}],
        },
    }


def checkback_template(name: str, language: str, services: str, payloads: list[str]) -> Message:
    """The approved "did you reach ...?" template: the services as its one parameter and our
    answers as the payloads of its quick-reply buttons (their labels are in the template)."""
    buttons = [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(index),
            "parameters": [{"type": "payload", "payload": payload}],
        }
        for index, payload in enumerate(payloads)
    ]
    return {
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": services[:1000]}]},
                *buttons,
            ],
        },
    }
