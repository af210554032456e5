"""Every channel's entry point: a parent's message goes to the bridge worker when the chat is
handed off, otherwise to the conversation engine; consent opens the handoff.

The router also keeps each chat's last few messages in memory (never on disk) so that, when a
parent consents, the bridge worker sees the conversation so far; without consent they are
simply forgotten. A message being handled is on disk (the inbox) only until its replies are
queued, so that a crash cannot lose it. Messages of one chat are handled one at a time, in order,
across replicas too (:mod:`bot.replicas.inbox`); chats run in parallel.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections import OrderedDict, deque
from dataclasses import asdict
from datetime import datetime, timedelta

from bot.conversation.engine import Engine
from bot.conversation.i18n import Lang
from bot.conversation.messages import Incoming, MediaRef, Outcome, Reply
from bot.conversation.text import clean
from bot.followup.checkback import OFFER_YES
from bot.handoff import parent_texts
from bot.handoff.desk import PARENT, HandoffDesk, RecentItem, reply_payload
from bot.replicas.claims import Claims, under_claim
from bot.replicas.inbox import PREFIX as INBOX
from bot.replicas.inbox import ChatInbox

log = logging.getLogger(__name__)
RECENT_PER_CHAT = 12
RECENT_CHATS = 5000
RECENT_FOR = timedelta(hours=2)
PARENT_COMMANDS_IN_HANDOFF = ("/forget", "/mydata", "/privacy")


class RecentMessages:
    """The last messages of each chat, in memory, bounded in count and age."""

    def __init__(self) -> None:
        self._chats: OrderedDict[str, deque[RecentItem]] = OrderedDict()

    def add(self, chat_key: str, item: RecentItem) -> None:
        items = self._chats.pop(chat_key, None) or deque(maxlen=RECENT_PER_CHAT)
        while items and item.at - items[0].at > RECENT_FOR:
            items.popleft()
        items.append(item)
        self._chats[chat_key] = items
        # Chats are in the order of their last message: what is too old goes from the front,
        # so no message stays in memory much longer than it could be passed on.
        while self._chats:
            oldest = next(iter(self._chats.values()))
            if len(self._chats) <= RECENT_CHATS and item.at - oldest[-1].at <= RECENT_FOR:
                break
            self._chats.popitem(last=False)

    def take(self, chat_key: str, now: datetime) -> list[RecentItem]:
        items = self._chats.pop(chat_key, deque())
        return [item for item in items if now - item.at <= RECENT_FOR]

    def forget(self, chat_key: str) -> None:
        self._chats.pop(chat_key, None)


def _to_json(msg: Incoming) -> str:
    return json.dumps(asdict(msg), ensure_ascii=False)


def _from_json(raw: str) -> Incoming:
    data = json.loads(raw)
    media = data.pop("media", None)
    return Incoming(**data, media=MediaRef(**media) if media else None)


def _is_checkback_offer(reply: Reply) -> bool:
    return any(b.payload == OFFER_YES for row in reply.buttons for b in row)


def _command(msg: Incoming) -> str | None:
    text = clean(msg.text) if msg.kind == "text" else ""
    return text.split()[0].split("@")[0].lower() if text.startswith("/") else None


class Router:
    def __init__(self, engine: Engine, desk: HandoffDesk) -> None:
        self.engine = engine
        self.desk = desk
        self.recent = RecentMessages()
        # A chat's lock lives while someone holds or waits for it, then goes away by itself.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.claims = Claims(engine.state)
        self.inbox = ChatInbox(engine.state, desk.outbox, self.claims)
        self.stopping = False  # no next message is started (the rest waits in the inbox)

    async def receive(self, msg: Incoming) -> None:
        """Handle a message and queue the replies for delivery (Telegram, WhatsApp).

        The message is kept in the inbox until its replies are queued: if the process dies in
        between (waiting for Rasa, say), it is answered by another replica, or at the next
        start (:meth:`replay`). The platforms cannot be relied on for that: python-telegram-bot
        confirms a batch of updates as soon as it has fetched them. With several replicas the
        chat's messages are handled by whichever holds its claim, in the order they were taken
        in (:mod:`bot.replicas.inbox`); this returns at once when that is another one."""
        state = self.engine.state
        inbox_id = state.accept(msg.chat_key, _to_json(msg), msg.channel, msg.message_id)
        if inbox_id:  # else delivered twice by the platform: taken in the first time
            await self.work_on(msg.chat_key)

    async def work_on(self, chat_key: str) -> bool:
        """Answer the chat's waiting messages, oldest first, if nobody else is doing that."""
        return await under_claim(
            self.claims,
            INBOX + chat_key,
            lambda: self._next(chat_key),
            stopping=lambda: self.stopping,
        )

    async def _next(self, chat_key: str) -> bool:
        found = self.inbox.next(chat_key)
        if found is None:
            return False
        inbox_id, raw = found
        try:
            msg = _from_json(raw)
        except (ValueError, TypeError, KeyError):
            log.error("inbox: dropped an unreadable message")
            self.inbox.drop(inbox_id)
            return True
        replies = await self._locked(msg)
        queued = [
            {
                "lane": PARENT,
                "key": chat_key,
                "action": "reply",
                "payload": reply_payload(chat_key, r),
            }
            for r in replies
        ]
        if not self.inbox.finish(chat_key, inbox_id, queued):
            log.warning("inbox: a chat was taken over by another replica; its answer stands")
            return False
        return True

    async def replay(self) -> int:
        """Answer the messages nobody is working on: taken in by a run (or a replica) that
        died before it finished them. Returns for how many chats."""
        chats = self.inbox.orphans()
        for chat_key in chats:
            await self.work_on(chat_key)
        if chats:
            log.info("inbox: answered messages left unfinished in %d chat(s)", len(chats))
        return len(chats)

    async def handle(self, msg: Incoming) -> list[Reply]:
        """The replies to one message (the terminal chat, tests): a platform id seen before
        gets none."""
        if msg.message_id and not self.engine.state.first_time(
            msg.channel, msg.message_id, msg.chat_key
        ):
            return []
        return await self._locked(msg)

    async def _locked(self, msg: Incoming) -> list[Reply]:
        lock = self._locks.get(msg.chat_key)
        if lock is None:
            lock = self._locks[msg.chat_key] = asyncio.Lock()
        async with lock:
            return await self._handle(msg)

    async def _handle(self, msg: Incoming) -> list[Reply]:
        command = _command(msg)
        handoff = self.desk.open_for(msg.chat_key)
        to_bot = command in PARENT_COMMANDS_IN_HANDOFF or (
            msg.kind == "button" and not (msg.payload or "").startswith("handoff:")
        )
        if handoff is not None and msg.kind == "button" and not to_bot:
            # An old "talk to a bridge worker" or "yes" button: say where the question is.
            language = handoff.language
            return [Reply(parent_texts.already_passed_on(Lang(language)))]
        if handoff is not None and not to_bot:
            self.desk.from_parent(handoff, msg)
            return []
        if command == "/forget":
            self.desk.forget(msg.chat_key)
            self.recent.forget(msg.chat_key)
        outcome = await self.engine.handle(msg)
        if outcome.forgotten:
            return outcome.replies
        now = self.engine.clock()
        self._remember(msg, outcome, now)
        if outcome.handoff_request is not None:
            request = outcome.handoff_request
            ticket = self.desk.open(msg, request, self.recent.take(msg.chat_key, now))
            outcome.replies.append(self.desk.ticket_reply(ticket, request.language, request.urgent))
        return outcome.replies

    def _remember(self, msg: Incoming, outcome: Outcome, now: datetime) -> None:
        if msg.kind == "button":
            return
        self.recent.add(msg.chat_key, RecentItem(now, "parent", msg.kind, msg.text, msg.media))
        answers = [r for r in outcome.replies if not _is_checkback_offer(r)]
        if answers:
            first = answers[-1].text.splitlines()[0]
            said = f"{first[:160]}" + (
                f" [{', '.join(outcome.services)}]" if outcome.services else ""
            )
            self.recent.add(msg.chat_key, RecentItem(now, "bot", "text", said))
