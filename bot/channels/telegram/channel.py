"""The Telegram channel: a python-telegram-bot Application for parents and the staff group.

Long polling by default; webhook mode when ``TELEGRAM_WEBHOOK_URL`` is set, served by the bot's
ASGI app (see :mod:`bot.server`), which checks Telegram's secret-token header. Replies do not go
out from the handlers: they go into the outbox, which sends them in order with retries.
"""

from __future__ import annotations

import hmac
import logging
import re
from contextlib import suppress
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import BotCommand, CallbackQuery, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import Wegwijs
from bot.channels import json_input
from bot.channels.json_input import Malformed
from bot.channels.media import FileFetcher, MediaFile
from bot.channels.telegram.config import TelegramConfig
from bot.channels.telegram.convert import CHANNEL, incoming, media_of
from bot.channels.telegram.inbox import InboxApplication, UpdateInbox
from bot.channels.telegram.request import LeavingRequest, polling_request
from bot.channels.telegram.sending import deliver_to_parent, fetch_file
from bot.channels.telegram.staff import StaffRoom
from bot.conversation.messages import MediaRef
from bot.handoff import staff_texts
from bot.handoff.desk import StaffAnswer
from bot.handoff.outbox import Item
from bot.web.tally import Tally

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
MAX_BODY = 1024 * 1024  # an update is a few kB; Telegram caps a message at 4,096 characters
# A staff button's callback data: the action and a handoff number (an SQLite id: < 2**63).
STAFF_BUTTON = re.compile(r"staff:(pickup|close):([1-9][0-9]{0,17})")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
COMMANDS = {
    "nl": [("start", "Opnieuw beginnen"), ("menu", "Onderwerpen"), ("language", "Taal kiezen"),
           ("mydata", "Wat de bot over jou bewaart"), ("privacy", "Privacy"),
           ("forget", "Alles wissen")],
    "fr": [("start", "Recommencer"), ("menu", "Sujets"), ("language", "Choisir la langue"),
           ("mydata", "Ce que le bot garde sur vous"), ("privacy", "Vie privée"),
           ("forget", "Tout effacer")],
    "en": [("start", "Start again"), ("menu", "Topics"), ("language", "Choose language"),
           ("mydata", "What the bot keeps about you"), ("privacy", "Privacy"),
           ("forget", "Erase everything")],
    "ar": [("start", "ابدأ من جديد"), ("menu", "المواضيع"), ("language", "اختر اللغة"),
           ("mydata", "ما يحفظه البوت عنك"), ("privacy", "الخصوصية"),
           ("forget", "امسح كل شيء")],
}  # fmt: skip


class TelegramChannel:
    def __init__(self, config: TelegramConfig, app: Wegwijs, tally: Tally | None = None) -> None:
        self.config = config
        self.app = app
        self.tally = tally or Tally()  # refused webhook calls: counted, not logged one by one
        # Every update is on disk from its arrival until it is handled (see the module).
        self.inbox = UpdateInbox(app.state, app.clock)
        builder = (
            ApplicationBuilder()
            .application_class(InboxApplication)
            .update_queue(self.inbox)
            .token(config.token)
            .base_url(config.base_url)
            .base_file_url(config.base_file_url)
            .rate_limiter(AIORateLimiter(max_retries=2))
            .request(LeavingRequest())  # marks the outbox row when a send leaves (replicas)
            .concurrent_updates(64)  # chats in parallel; the router keeps each chat in order
            .get_updates_request(polling_request(config.poll_timeout + 10))
        )
        if config.webhook_url:
            builder = builder.updater(None)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.inbox.bot = self.application.bot
        # Updates are handled from disk, chat by chat, under a claim (bot/replicas).
        self.inbox.process = self.application.process_update
        self.staff = (
            StaffRoom(self.application.bot, config.staff_chat_id, app.desk)
            if config.staff_chat_id is not None
            else None
        )
        self.files: dict[str, FileFetcher] = {}  # files from elsewhere for parents (the desk)
        self.running = False
        self._add_handlers()

    # -- handlers ----------------------------------------------------------------------------

    def _add_handlers(self) -> None:
        a = self.application
        private = filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED
        a.add_handler(MessageHandler(private, self._on_parent))
        a.add_handler(CallbackQueryHandler(self._on_staff_button, pattern=r"^staff:"))
        a.add_handler(CallbackQueryHandler(self._on_parent_button))
        if self.config.staff_chat_id is not None:
            group = filters.Chat(self.config.staff_chat_id) & ~filters.StatusUpdate.ALL
            a.add_handler(
                MessageHandler(group & ~filters.UpdateType.EDITED, self._on_staff_message)
            )
        a.add_error_handler(self._on_error)

    async def _on_parent(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = incoming(update)
        if msg is not None:
            await self.app.router.receive(msg)

    async def _on_parent_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        with suppress(Exception):  # only stops the button's spinner; never worth a failure
            await query.answer()
        if query.message is None or query.message.chat.type != "private":
            return
        msg = incoming(update)
        if msg is not None:
            await self.app.router.receive(msg)

    async def _on_staff_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Oppakken / Afsluiten under a handoff's summary. Whatever happens, the button's
        spinner is answered, so the worker is never left waiting."""
        query = update.callback_query
        if query is None:
            return
        try:
            answer = self._staff_action(query)
        except Exception as error:  # the spinner is still stopped below
            log.error("staff button failed: %s", type(error).__name__)
            answer = StaffAnswer(False, staff_texts.BUTTON_FAILED)
        with suppress(Exception):
            await query.answer(answer.notice or "", show_alert=not answer.ok)

    def _staff_action(self, query: CallbackQuery) -> StaffAnswer:
        chat = query.message.chat.id if query.message is not None else None
        if chat is None or chat != self.config.staff_chat_id:
            log.info("staff button: refused outside the staff group")
            return StaffAnswer(False, staff_texts.ONLY_IN_STAFF_GROUP)
        button = STAFF_BUTTON.fullmatch(query.data or "")
        if button is None:  # not one of ours (or a number no handoff can have)
            return StaffAnswer(True, "")
        action, number = button.groups()
        user_id = query.from_user.id if query.from_user else None
        worker = self.app.desk.team.by_user(user_id)
        if action == "pickup":
            return self.app.desk.pick_up(int(number), worker)
        return self.app.desk.close(int(number), worker)

    async def _on_staff_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        topic = message.message_thread_id if message.is_topic_message else None
        if topic is None:
            return  # the General topic is for people; the bot only acts inside handoff topics
        if not self.app.state.first_time(CHANNEL, f"{message.chat_id}:{message.message_id}"):
            return  # delivered again (the bot died before confirming it): relayed the first time
        user_id = message.from_user.id
        text = message.text if message.text is not None else (message.caption or "")
        if text.startswith("/close"):
            answer = self.app.desk.close_topic(topic, user_id)
        elif text.startswith("/note"):  # an internal note: for the desk, never for the parent
            parts = text.split(None, 1)
            note = parts[1] if len(parts) > 1 else ""
            answer = self.app.desk.note_from_topic(topic, user_id, note)
        elif text.startswith("/"):
            return  # other commands are not meant for the parent
        else:
            kind, media = media_of(message) if message.text is None else ("text", None)
            answer = self.app.desk.from_worker(topic, user_id, kind, text, media)
        if answer is not None and answer.notice and not answer.ok:
            with suppress(Exception):
                await message.reply_text(answer.notice)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error("telegram handler error: %s", type(error).__name__ if error else "unknown")

    # -- delivery (called by the outbox) -----------------------------------------------------

    async def deliver_to_parent(self, items: list[Item]) -> int:
        return await deliver_to_parent(self.application.bot, items, self.files)

    async def fetch_file(self, media: MediaRef) -> MediaFile:
        return await fetch_file(self.application.bot, media)

    async def deliver_to_staff(self, items: list[Item]) -> int:
        if self.staff is None:
            raise RuntimeError("TELEGRAM_STAFF_CHAT_ID is not set")  # kept until it is
        return await self.staff.deliver(items)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.application.initialize()
        await self.inbox.replay()  # taken in by the previous run, not handled: first
        await self._set_commands()
        await self.application.start()
        if self.config.webhook_url:
            await self.application.bot.set_webhook(
                self.config.webhook_url.rstrip("/") + WEBHOOK_PATH,
                secret_token=self.config.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            assert self.application.updater is not None
            await self.application.updater.start_polling(
                poll_interval=0.0,
                timeout=self.config.poll_timeout,
                allowed_updates=Update.ALL_TYPES,
            )
        self.running = True
        log.info(
            "telegram channel started (%s)", "webhook" if self.config.webhook_url else "polling"
        )

    async def _set_commands(self) -> None:
        for code, commands in COMMANDS.items():
            with suppress(Exception):  # a nicety: the bot works without its command menu
                await self.application.bot.set_my_commands(
                    [BotCommand(c, d) for c, d in commands],
                    language_code=None if code == "nl" else code,
                )

    async def stop_receiving(self) -> None:
        """Take no new updates, and handle the ones taken in (their replies go to the outbox;
        the bot can still send until :meth:`close`)."""
        self.running = False
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        await self.inbox.finish()
        if self.application.running:
            await self.application.stop()

    async def close(self) -> None:
        await self.application.shutdown()

    async def stop(self) -> None:
        await self.stop_receiving()
        await self.close()

    async def webhook(self, request: Request) -> Response:
        """Telegram's POST: only with our secret token; the body is read within the limits
        of :mod:`bot.web.guard` (at most :data:`MAX_BODY`). Answered 200 only once the update
        is in the inbox on disk, so a stop or a crash right after loses nothing."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.config.webhook_secret.encode()):
            self.tally.note("bad secret")
            return JSONResponse({"ok": False}, status_code=401)
        body = await request.body()
        try:
            await self.inbox.take_in(json_input.load(body))
        except Malformed as problem:
            log.warning("telegram webhook: refused an update of the wrong shape (%s)", problem)
            return JSONResponse({"ok": False, "error": "not a Telegram update"}, status_code=400)
        return JSONResponse({"ok": True})

    def health(self) -> dict[str, object]:
        updater = self.application.updater
        polling = updater is not None and updater.running
        return {
            # Started, and PTB's loops still alive (polling stops for good on a fatal error).
            "running": self.running
            and self.application.running
            and (polling or bool(self.config.webhook_url)),
            "mode": "webhook" if self.config.webhook_url else "polling",
            "staff_group": self.config.staff_chat_id is not None,
        }
