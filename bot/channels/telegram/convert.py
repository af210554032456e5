"""Between Telegram's objects and the bot's own message types."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.conversation.messages import Incoming, Kind, MediaRef

MAX_TEXT = 4096
MAX_CAPTION = 1024
CHANNEL = "telegram"


def keyboard(rows: list[list[tuple[str, str]]] | None) -> InlineKeyboardMarkup | None:
    """Inline buttons; callback data is at most 64 bytes in Telegram, our payloads are short."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label[:64], callback_data=data[:64]) for label, data in row]
            for row in rows
        ]
    )


def html_chunks(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Escape plain text for parse_mode HTML (a parent's "<b>" or "*" stays literal) and split
    it at line breaks so that no part is longer than Telegram allows."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _escaped_pieces(line, limit):
            added = len(piece) + (1 if current else 0)
            if current and size + added > limit:
                parts.append("\n".join(current))
                current, size, added = [], 0, len(piece)
            current.append(piece)
            size += added
    parts.append("\n".join(current))
    # Telegram refuses a part that is only whitespace ("message text is empty") and the parts
    # after it would then be lost with it: a page of blank lines or spaces is dropped instead.
    return [part for part in parts if part.strip()] or parts[-1:]


def _escaped_pieces(line: str, limit: int) -> list[str]:
    escaped = escape(line, quote=False)
    if len(escaped) <= limit:
        return [escaped]
    pieces, buffer = [], ""
    for char in line:  # one enormous line: cut it between characters, never inside "&lt;"
        piece = escape(char, quote=False)
        if len(buffer) + len(piece) > limit:
            pieces.append(buffer)
            buffer = ""
        buffer += piece
    pieces.append(buffer)
    return pieces


def media_of(message: Message) -> tuple[Kind, MediaRef | None]:
    chat_id = str(message.chat_id)
    kind: Kind
    if message.photo:
        ref = MediaRef(CHANNEL, "photo", message.photo[-1].file_id, chat_id, message.message_id)
        return "photo", ref
    for attribute, kind, media_kind in (
        ("document", "document", "document"),
        ("video", "document", "video"),
        ("video_note", "document", "video"),
        ("voice", "voice", "voice"),
        ("audio", "voice", "audio"),
    ):
        media = getattr(message, attribute)
        if media is not None:
            ref = MediaRef(
                CHANNEL,
                media_kind,
                media.file_id,
                chat_id,
                message.message_id,
                getattr(media, "file_name", None),
                getattr(media, "mime_type", None),
            )
            return kind, ref
    if message.location is not None:
        return "location", None
    return "other", None


def incoming(update: Update) -> Incoming | None:
    """A parent's private message or button press, or None for anything else."""
    user = update.effective_user
    hint = user.language_code if user else None
    query = update.callback_query
    if query is not None and query.message is not None:
        return Incoming(
            chat_id=str(query.message.chat.id),
            kind="button",
            payload=query.data or "",
            language_hint=hint,
            channel=CHANNEL,
            message_id=f"cb:{query.id}",
        )
    message = update.message
    if message is None:
        return None
    message_id = f"{message.chat_id}:{message.message_id}"
    if message.text is not None:
        return Incoming(str(message.chat_id), message.text, "text", None, hint, CHANNEL, message_id)
    kind, media = media_of(message)
    return Incoming(
        str(message.chat_id),
        message.caption or "",
        kind,
        None,
        hint,
        CHANNEL,
        message_id,
        media,
    )
