"""The WhatsApp channel: Meta's webhook in, the Graph API out.

The webhook answers only calls signed with the app secret. Each message is in the inbox on disk
before the webhook answers 200, and normally handled too, so its replies are in the outbox by
then; with several replicas, a message of a chat that another replica is answering right now is
handled there, after the one before it (:mod:`bot.replicas.inbox`). Meta re-delivers anything
not acknowledged, and the router takes each message id in once.

WhatsApp lets a business send free messages only within 24 hours of the parent's last message.
A bridge worker's answer that comes later is held back: the parent gets the pre-approved
"you have an answer" template instead, the worker is told, and the held messages go out, in
order, as soon as the parent writes again or taps the template's button.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections import OrderedDict
from contextlib import suppress
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bot.app import Wegwijs
from bot.channels import json_input
from bot.channels.json_input import Malformed
from bot.channels.media import FileFetcher, MediaFile, describe
from bot.channels.whatsapp.config import WhatsAppConfig
from bot.channels.whatsapp.convert import (
    CHANNEL,
    Message,
    checkback_template,
    inbound,
    media_message,
    reply_messages,
    template_message,
)
from bot.channels.whatsapp.graph import RE_ENGAGEMENT, GraphClient, GraphError
from bot.channels.whatsapp.payload import message_values
from bot.conversation.i18n import Lang
from bot.conversation.messages import MediaRef
from bot.handoff import staff_texts
from bot.handoff.outbox import Held, Item, Undeliverable
from bot.web.tally import Tally

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/whatsapp/webhook"
WINDOW = 24 * 3600.0
SAFETY_MARGIN = 600.0  # close the window a little early: clocks differ, sending takes time
FUTURE_SLACK = 300.0
REMEMBERED_IN_MEMORY = 10_000  # chats whose last message time is also kept in RAM
TEMPLATE_LANGUAGES = ("nl", "fr", "ar", "en")  # the template is approved in these


MAX_BODY = 3 * 1024 * 1024  # Meta: a webhook payload is at most 3 MB
SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")


def valid_signature(body: bytes, header: str, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


class WhatsAppChannel:
    def __init__(self, config: WhatsAppConfig, app: Wegwijs, *, tally: Tally | None = None) -> None:
        self.config = config
        self.app = app
        self.tally = tally or Tally()  # refused calls: counted, not logged one by one
        self.graph = GraphClient(config.api_base_url, config.token, config.phone_number_id)
        self.files: dict[str, FileFetcher] = {}  # other channels' files, for workers' replies
        self.running = False
        self._sent_parts: dict[int, int] = {}  # outbox item -> its messages already sent
        self._uploaded: dict[int, str] = {}  # outbox item -> media id, so a retry re-uses it
        # The last message time per chat, in memory only: after /forget erased the stored one,
        # the "everything is erased" confirmation must still go out inside the window.
        self._heard: OrderedDict[str, float] = OrderedDict()

    def now(self) -> float:
        """Unix time from the bot's one clock: Meta's timestamps and the window are in it."""
        return self.app.clock().timestamp()

    async def start(self) -> None:
        self.running = True
        log.info("whatsapp channel started (webhook %s)", WEBHOOK_PATH)

    async def stop(self) -> None:
        self.running = False
        await self.graph.aclose()

    # -- webhook -----------------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        """Meta's one-time check when the webhook URL is saved in the app dashboard."""
        params = request.query_params
        token = params.get("hub.verify_token", "")
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), self.config.verify_token.encode()
        ):
            return PlainTextResponse(params.get("hub.challenge", ""))
        return PlainTextResponse("verification failed", status_code=403)

    async def webhook(self, request: Request) -> Response:
        """Meta's POST. A call without a well-formed signature is refused before a byte of its
        body is read; the body is read within the limits of :mod:`bot.web.guard` (at most
        :data:`MAX_BODY`), and its signature checked before anything in it is parsed."""
        signature = request.headers.get("X-Hub-Signature-256", "").strip().lower()
        if not SIGNATURE.fullmatch(signature):
            self.tally.note("no signature")
            return JSONResponse({"ok": False}, status_code=401)
        body = await request.body()
        if not valid_signature(body, signature, self.config.app_secret):
            self.tally.note("bad signature")
            return JSONResponse({"ok": False}, status_code=401)
        try:
            values = message_values(json_input.load(body), self.config.phone_number_id)
        except Malformed as problem:
            log.warning("whatsapp webhook: refused a signed call of the wrong shape (%s)", problem)
            return JSONResponse({"ok": False, "error": "not a WhatsApp webhook"}, status_code=400)
        for value in values:
            for status in value.get("statuses") or []:
                self._status(status)
            for raw in value.get("messages") or []:
                try:
                    await self._receive(raw)
                except Exception as error:  # one bad message must not make Meta resend the rest
                    log.error("whatsapp message failed: %s", type(error).__name__)
        return JSONResponse({"ok": True})

    async def _receive(self, raw: dict[str, Any]) -> None:
        parsed = inbound(raw) if isinstance(raw, dict) else None
        if parsed is None:
            return
        chat_key = f"{CHANNEL}:{parsed.wa_id}"
        now = self.now()
        at = parsed.at if 0 < parsed.at <= now + FUTURE_SLACK else now
        self.app.state.heard_from(chat_key, at)
        self._heard[chat_key] = max(at, self._heard.pop(chat_key, 0.0))
        while len(self._heard) > REMEMBERED_IN_MEMORY:
            self._heard.popitem(last=False)
        if self.app.desk.outbox.release("parent", chat_key):  # answers that waited for this
            log.info("whatsapp: delivering answers held for the 24-hour window")
        if parsed.incoming is not None:
            await self.app.router.receive(parsed.incoming)

    def _status(self, status: dict[str, Any]) -> None:
        """Sent, delivered and read need nothing; a failure is worth a line in the log."""
        if not isinstance(status, dict) or status.get("status") != "failed":
            return
        codes = [e.get("code") for e in status.get("errors") or [] if isinstance(e, dict)]
        log.warning("whatsapp: a message was not delivered (codes %s)", codes)

    # -- delivery (called by the outbox) -----------------------------------------------------

    def window_open(self, chat_key: str) -> bool:
        last, _ = self.app.state.last_heard(chat_key)
        last = max(last or 0.0, self._heard.get(chat_key, 0.0))
        return last > 0 and self.now() - last < WINDOW - SAFETY_MARGIN

    async def deliver_to_parent(self, items: list[Item]) -> int:
        """One item at a time; an item may take several messages (a long menu)."""
        item = items[0]
        chat_key = item.key
        to = str(item.payload["chat_id"])
        if item.action == "checkback" and not self.window_open(chat_key):
            return await self._checkback_template(item, chat_key, to)
        if not self.window_open(chat_key):
            await self._hold(item, chat_key, to)
        try:
            messages = await self._messages(item, chat_key)
            for n in range(self._sent_parts.get(item.id, 0), len(messages)):
                await self.graph.send({"to": to, **messages[n]})
                self._sent_parts[item.id] = n + 1
        except GraphError as error:
            if error.code == RE_ENGAGEMENT:
                await self._hold(item, chat_key, to)
            if not error.retryable:
                self._undeliverable(item)
                raise Undeliverable(str(error)) from error
            raise
        except Undeliverable:
            self._undeliverable(item)
            raise
        self._forget_item(item)
        return 1

    def _undeliverable(self, item: Item) -> None:
        self._forget_item(item)
        if item.action == "media":
            self.app.desk.tell_worker(item.handoff_id, staff_texts.WORKER_FILE_NOT_RELAYED)

    def _forget_item(self, item: Item) -> None:
        self._sent_parts.pop(item.id, None)
        self._uploaded.pop(item.id, None)

    async def _messages(self, item: Item, chat_key: str) -> list[Message]:
        payload = item.payload
        language = self.app.state.language_of(chat_key) or "nl"
        if item.action in ("reply", "checkback"):
            choices = [(label, data) for row in payload.get("buttons") or [] for label, data in row]
            return reply_messages(payload["text"], choices, Lang(language))
        if item.action == "media":
            media = MediaRef(**payload["media"])
            caption = str(payload.get("caption", ""))
            if item.id not in self._uploaded:
                file = await self._fetch(media)
                self._uploaded[item.id] = await self.graph.upload(file)
            message = media_message(
                media.kind,
                self._uploaded[item.id],
                media.mime_type or "",
                media.file_name or "",
                caption,
            )
            if message["type"] == "audio" and caption:  # no captions on audio: say it first
                return [*reply_messages(caption, [], Lang(language)), message]
            return [message]
        raise Undeliverable(f"unknown action {item.action}")

    async def _fetch(self, media: MediaRef) -> MediaFile:
        if media.channel == CHANNEL:
            content, mime = await self.graph.download(media.file_id)
            return describe(replace(media, mime_type=mime), content)
        fetch = self.files.get(media.channel)
        if fetch is None:
            raise RuntimeError(f"cannot fetch files from {media.channel} now")  # kept, retried
        return await fetch(media)

    async def _checkback_template(self, item: Item, chat_key: str, to: str) -> int:
        """A check-back due outside the 24-hour window goes as its approved template; it is
        not held (it is the bot's own question, and waits for nobody)."""
        language = self.app.state.language_of(chat_key) or "nl"
        language = language if language in TEMPLATE_LANGUAGES else "nl"
        payloads = [data for row in item.payload.get("buttons") or [] for _label, data in row]
        message = checkback_template(
            self.config.checkback_template, language, str(item.payload["services"]), payloads
        )
        try:
            await self.graph.send({"to": to, **message})
        except GraphError as error:
            if not error.retryable:
                log.warning("whatsapp: the check-back template was refused (%s)", error)
                raise Undeliverable(str(error)) from error
            raise
        return 1

    async def _hold(self, item: Item, chat_key: str, to: str) -> None:
        """Outside the 24-hour window: send the template once, tell the worker, hold the item."""
        _, nudged = self.app.state.last_heard(chat_key)
        if nudged is None:
            language = self.app.state.language_of(chat_key)
            language = language if language in TEMPLATE_LANGUAGES else "nl"
            worker = self.app.desk.worker_name(item.handoff_id) or "Wegwijs"
            template = template_message(self.config.template_name, language, worker)
            sent = True
            try:
                await self.graph.send({"to": to, **template})
            except GraphError as error:
                if error.retryable:
                    raise  # the item stays pending and this is tried again
                log.warning("whatsapp: the answer-waiting template was refused (%s)", error)
                sent = False
            self.app.state.nudged(chat_key, self.now())
            self.app.desk.tell_worker(item.handoff_id, staff_texts.answer_waiting(sent), "held")
        raise Held()

    async def fetch_file(self, media: MediaRef) -> MediaFile:
        """A parent's WhatsApp file, for the staff group."""
        try:
            return await self._fetch(media)
        except GraphError as error:
            if error.retryable:
                raise
            raise Undeliverable(f"whatsapp file: {error}") from error

    def health(self) -> dict[str, object]:
        held = 0
        with suppress(Exception):
            held = self.app.desk.outbox.count_held()
        return {"running": self.running, "webhook": WEBHOOK_PATH, "held_for_window": held}
