"""Deliver the outbox's messages to parents on Telegram."""

from __future__ import annotations

from html import escape

from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.channels.media import FileFetcher, MediaFile, describe
from bot.channels.telegram.convert import MAX_CAPTION, html_chunks, keyboard
from bot.conversation.messages import MediaRef
from bot.handoff.outbox import Item, Undeliverable


def permanent(error: Exception) -> bool:
    """Telegram will never accept this (blocked, chat gone, message gone): do not retry.

    A rejected token is not permanent: the operator replaces it and the messages still go."""
    return isinstance(error, Forbidden | BadRequest)


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    buttons: list[list[tuple[str, str]]] | None = None,
    thread_id: int | None = None,
    *,
    escaped: bool = False,
) -> int:
    """Send (in parts when long); buttons go with the last part. Returns the last message id."""
    parts = [text] if escaped else html_chunks(text)
    message_id = 0
    for n, part in enumerate(parts, start=1):
        message = await bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(buttons) if n == len(parts) else None,
            message_thread_id=thread_id,
            disable_web_page_preview=True,
        )
        message_id = message.message_id
    return message_id


async def send_media(
    bot: Bot,
    chat_id: int,
    media: MediaRef,
    caption_html: str,
    thread_id: int | None = None,
    fetch: FileFetcher | None = None,
) -> None:
    """Relay a photo, document or voice note. A Telegram file is copied by message id, so the
    bot never downloads it; a file from another channel is fetched from there and uploaded."""
    caption = caption_html[:MAX_CAPTION]
    if media.channel == "telegram" and media.chat_id is not None and media.message_id is not None:
        await bot.copy_message(
            chat_id,
            from_chat_id=int(media.chat_id),
            message_id=media.message_id,
            caption=caption,
            parse_mode=ParseMode.HTML,
            message_thread_id=thread_id,
        )
        return
    if fetch is None:
        raise Undeliverable(f"cannot fetch a {media.channel} file")
    file = await fetch(media)
    upload = InputFile(file.content, filename=file.file_name)
    common: dict[str, object] = {
        "caption": caption,
        "parse_mode": ParseMode.HTML,
        "message_thread_id": thread_id,
    }
    if media.kind == "photo" and file.mime_type in ("image/jpeg", "image/png", "image/webp"):
        await bot.send_photo(chat_id, upload, **common)  # type: ignore[arg-type]
    elif media.kind == "voice" and file.mime_type in ("audio/ogg", "audio/opus"):
        await bot.send_voice(chat_id, upload, **common)  # type: ignore[arg-type]
    else:
        await bot.send_document(chat_id, upload, **common)  # type: ignore[arg-type]


async def fetch_file(bot: Bot, media: MediaRef) -> MediaFile:
    """A worker's Telegram file, for a parent on another channel (bots may fetch up to 20 MB)."""
    try:
        file = await bot.get_file(media.file_id)
        content = bytes(await file.download_as_bytearray())
    except Exception as error:
        if permanent(error):
            raise Undeliverable(f"telegram file: {type(error).__name__}") from error
        raise
    return describe(media, content, file.file_path)


async def deliver_to_parent(
    bot: Bot, items: list[Item], files: dict[str, FileFetcher] | None = None
) -> int:
    """One item at a time: the outbox marks it sent before the next one goes. ``files``: how
    to fetch a file that is not on Telegram (a worker's upload in the desk)."""
    item = items[0]
    payload = item.payload
    chat_id = int(payload["chat_id"])
    try:
        if item.action in ("reply", "checkback"):  # a check-back is a reply with buttons here
            await send_text(bot, chat_id, payload["text"], payload.get("buttons"))
        elif item.action == "media":
            media = MediaRef(**payload["media"])
            fetch = (files or {}).get(media.channel)
            caption = escape(payload.get("caption", ""), quote=False)
            await send_media(bot, chat_id, media, caption, fetch=fetch)
        else:
            raise Undeliverable(f"unknown action {item.action}")
    except Exception as error:
        if permanent(error):
            raise Undeliverable(type(error).__name__) from error
        raise
    return 1
