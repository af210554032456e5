"""The staff group: a Telegram forum supergroup where each handoff is a topic.

The outbox hands us the desk's actions for the group (open a topic, post a parent's message,
relay a photo, announce again...). Telegram allows a bot about 20 messages a minute in a group;
AIORateLimiter makes us wait, and while we wait the parent's messages pile up in the outbox,
so consecutive posts for the same topic are sent as one message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from html import escape

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.channels.media import FileFetcher
from bot.channels.telegram.convert import MAX_TEXT
from bot.channels.telegram.sending import permanent, send_media, send_text
from bot.conversation.messages import MediaRef
from bot.handoff import staff_texts
from bot.handoff.desk import HandoffDesk
from bot.handoff.outbox import Item, Undeliverable

log = logging.getLogger(__name__)
URGENT_ICON = 0xFF93B2  # one of the six colours Telegram allows for topic icons
NORMAL_ICON = 0x6FB9F0


def pickup_button(handoff_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("✋ Oppakken", callback_data=f"staff:pickup:{handoff_id}")]]
    )


def close_button(handoff_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("✅ Afsluiten", callback_data=f"staff:close:{handoff_id}")]]
    )


class StaffRoom:
    def __init__(self, bot: Bot, chat_id: int, desk: HandoffDesk) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.desk = desk
        self.files: dict[str, FileFetcher] = {}  # other channels' files (a WhatsApp photo)

    async def deliver(self, items: list[Item]) -> int:
        try:
            return await self._deliver(items)
        except Undeliverable:
            raise
        except Exception as error:
            if permanent(error) and items[0].action == "open_topic":
                # The group is not set up right (no forum, bot not an admin): a handoff must not
                # be lost over that, so it waits, retried, until the operator fixes the group.
                log.error(
                    "staff group: cannot open a topic (%s: %s); check that Topics are on and the "
                    "bot is an administrator with Manage topics",
                    type(error).__name__,
                    error,
                )
                raise
            if permanent(error):
                raise Undeliverable(f"{type(error).__name__}: {error}") from error
            raise

    async def _deliver(self, items: list[Item]) -> int:
        item = items[0]
        handoff = self.desk.store.get(item.handoff_id) if item.handoff_id is not None else None
        if item.handoff_id is not None and handoff is None:
            return 1  # the parent erased everything (/forget) before this was sent
        topic = handoff.topic_id if handoff else None
        payload = item.payload
        if item.action == "open_topic" and handoff is not None:
            await self._open_topic(handoff.id, topic, handoff.summary_message_id, payload)
        elif item.action == "post":
            return await self._post_batch(items, topic)
        elif item.action == "media":
            caption = escape(payload["caption"], quote=False)
            media = MediaRef(**payload["media"])
            try:
                await send_media(
                    self.bot, self.chat_id, media, caption, topic, self.files.get(media.channel)
                )
            except Exception as error:
                if not (isinstance(error, Undeliverable) or permanent(error)):
                    raise  # 429, 5xx, network: tried again later
                log.warning("staff group: a parent's file could not be relayed (%s)", error)
                text = staff_texts.PARENT_FILE_NOT_RELAYED
                await send_text(self.bot, self.chat_id, text, thread_id=topic)
        elif item.action == "picked_up" and handoff is not None:
            await send_text(self.bot, self.chat_id, payload["text"], thread_id=topic, escaped=True)
            await self._set_buttons(handoff.summary_message_id, close_button(handoff.id))
        elif item.action == "reopened" and handoff is not None:
            if topic is not None:
                await self._ignore_bad_request(self.bot.reopen_forum_topic(self.chat_id, topic))
            await send_text(self.bot, self.chat_id, payload["text"], thread_id=topic, escaped=True)
            await self._set_buttons(handoff.summary_message_id, close_button(handoff.id))
        elif item.action == "closed" and handoff is not None:
            await send_text(self.bot, self.chat_id, payload["text"], thread_id=topic, escaped=True)
            await self._set_buttons(handoff.summary_message_id, None)
            if topic is not None:
                await self._ignore_bad_request(self.bot.close_forum_topic(self.chat_id, topic))
        elif item.action == "notice":
            buttons = payload.get("buttons") or []
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                    for row in buttons
                ]
            )
            await self.bot.send_message(
                self.chat_id,
                payload["text"],
                parse_mode="HTML",
                reply_markup=markup if buttons else None,
            )
        elif item.action == "forget_topic":
            await send_text(self.bot, self.chat_id, payload["text"], escaped=True)
            try:
                await self.bot.delete_forum_topic(self.chat_id, payload["topic_id"])
            except BadRequest as error:  # already gone, or the bot may not delete
                log.warning(
                    "staff group: could not delete the topic of an erased question (%s); "
                    "give the bot the right to delete messages, or delete the topic by hand",
                    error.message,
                )
        else:
            raise Undeliverable(f"unknown staff action {item.action}")
        return 1

    async def _open_topic(
        self, handoff_id: int, topic: int | None, summary_id: int | None, payload: dict[str, object]
    ) -> None:
        """Two steps, each remembered at once: a restart between them repeats neither."""
        if topic is None:
            created = await self.bot.create_forum_topic(
                self.chat_id,
                str(payload["name"]),
                icon_color=URGENT_ICON if payload.get("urgent") else NORMAL_ICON,
            )
            topic = created.message_thread_id
            self.desk.store.update(handoff_id, topic_id=topic)
        if summary_id is None:
            message = await self.bot.send_message(
                self.chat_id,
                str(payload["summary"]),
                parse_mode="HTML",
                message_thread_id=topic,
                reply_markup=pickup_button(handoff_id),
            )
            self.desk.store.update(handoff_id, summary_message_id=message.message_id)

    async def _post_batch(self, items: list[Item], topic: int | None) -> int:
        """The first post plus the posts right behind it for the same topic, as one message."""
        texts = [items[0].payload["text"]]
        size = len(texts[0])
        for item in items[1:]:
            if item.action != "post" or item.handoff_id != items[0].handoff_id:
                break
            size += len(item.payload["text"]) + 1
            if size > MAX_TEXT:
                break
            texts.append(item.payload["text"])
        await send_text(self.bot, self.chat_id, "\n".join(texts), thread_id=topic)  # splits
        return len(texts)

    async def _set_buttons(
        self, message_id: int | None, markup: InlineKeyboardMarkup | None
    ) -> None:
        if message_id is not None:
            await self._ignore_bad_request(
                self.bot.edit_message_reply_markup(self.chat_id, message_id, reply_markup=markup)
            )

    @staticmethod
    async def _ignore_bad_request(call: Awaitable[object]) -> None:
        """Editing a message that did not change, closing a closed topic: nothing to retry."""
        try:
            await call
        except BadRequest as error:
            log.info("staff group: %s", error.message)
