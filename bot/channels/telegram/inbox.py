"""Telegram updates kept on disk from the moment they arrive until they have been handled.

In webhook mode Telegram forgets an update as soon as the bot answers 200; in polling mode,
as soon as the next ``getUpdates`` confirms the batch (right after it was fetched). Either way
an update that was still waiting in python-telegram-bot's in-memory queue, or being handled,
was lost when the process stopped or died: a parent's message never answered, a bridge
worker's reply never relayed. So python-telegram-bot's update queue is this one: an update is
written to the state database (``telegram_updates``) before it is queued, hence before the
webhook answers 200 and before polling confirms it; it is deleted once its handler has
finished, and anything left at the next start is handled then.

With several replicas (webhook mode behind a load balancer) the update is handled by whichever
replica holds its lane's claim (``telegram:<chat>``, ``telegram:<group>:<topic>``), one update of
a lane at a time, in Telegram's order (the update id), whichever replica took it in: a parent's
second message taken in by replica B waits until A has handled the first, and an update taken in
by a replica that died is handled by another one once its claim expires (:meth:`replay`, from the
sweep of ``BotServer._sweep`` in :mod:`bot.server`).

Handling twice is harmless downstream: a parent's message is taken in once per message id
(:meth:`bot.conversation.state.StateStore.accept`), a staff message once per message id, and
a staff button acts once. Text is sanitised here too (:mod:`bot.channels.json_input`), for
polling, where python-telegram-bot parses the JSON itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application

from bot.channels.json_input import Malformed, sanitise
from bot.conversation.state import StateStore, utc_iso
from bot.replicas.claims import Claims, under_claim

log = logging.getLogger(__name__)
MAX_UPDATE_ID = 2**63 - 1  # a 64-bit integer on both engines; Telegram's ids are far smaller


PREFIX = "telegram:"
PARALLEL = 64  # updates handled at once (of different lanes), as python-telegram-bot did


def lane_of(data: dict[str, Any]) -> str:
    """The chat an update belongs to (with its forum topic): its updates are handled in order."""
    found: Any = None
    for field in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if isinstance(data.get(field), dict):
            found = data[field]
            break
    else:
        query = data.get("callback_query")
        if isinstance(query, dict):
            found = query.get("message")
            if not isinstance(found, dict) and isinstance(query.get("from"), dict):
                return f"user:{query['from'].get('id')}"
    if not isinstance(found, dict) or not isinstance(found.get("chat"), dict):
        return "other"
    lane = str(found["chat"].get("id"))
    thread = found.get("message_thread_id")
    return f"{lane}:{thread}" if isinstance(thread, int) and found.get("is_topic_message") else lane


class UpdateInbox(asyncio.Queue[object]):
    """python-telegram-bot's ``update_queue``, with every :class:`Update` also on disk.

    Once :attr:`process` is set (the channel does), updates from disk are not queued for
    python-telegram-bot's own loop but handled lane by lane under a claim (see the module)."""

    def __init__(self, state: StateStore, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self._db, self._lock = state.connection
        self.clock = clock
        self.bot: Bot | None = None  # set once the Application is built
        self.process: Callable[[Update], Awaitable[None]] | None = None
        self.claims = Claims(state)
        self.stopping = False
        self._working: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(PARALLEL)

    def _wake(self, lane: str) -> None:
        if self.stopping:
            return
        task = asyncio.create_task(self._work_on(lane))
        self._working.add(task)
        task.add_done_callback(self._working.discard)

    async def _work_on(self, lane: str) -> None:
        try:
            await under_claim(
                self.claims, PREFIX + lane, lambda: self._next(lane), stopping=lambda: self.stopping
            )
        except Exception as error:  # the next wake or sweep tries again
            log.error("telegram inbox: %s", type(error).__name__)

    async def _next(self, lane: str) -> bool:
        """Handle the lane's oldest update. False when there is none."""
        with self._lock:
            row = self._db.execute(
                "SELECT update_id, body FROM telegram_updates WHERE lane = ? "
                "ORDER BY update_id LIMIT 1",
                (lane,),
            ).fetchone()
        if row is None:
            return False
        try:
            update = Update.de_json(json.loads(row[1]), self.bot)
        except Exception as error:
            log.error("telegram inbox: dropped an unreadable update (%s)", type(error).__name__)
            self._delete(int(row[0]))
            return True
        assert self.process is not None
        async with self._limit:
            await self.process(update)  # InboxApplication marks it done (not when cancelled)
        self._delete(update.update_id)
        return True

    def _delete(self, update_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM telegram_updates WHERE update_id = ?", (update_id,))

    async def finish(self) -> None:
        """At a stop: no new update is started; the ones being handled are finished. What is
        left stays on disk, for another replica or the next start."""
        self.stopping = True
        if self._working:
            await asyncio.gather(*self._working, return_exceptions=True)

    async def put(self, item: object) -> None:
        """Polling puts parsed updates here (and python-telegram-bot its stop signal)."""
        if isinstance(item, Update):
            data = item.to_dict()
            try:
                kept = self._keep(data, item)
            except Malformed as problem:  # never stall polling: handle it, just not from disk
                log.warning("telegram inbox: an update not kept on disk (%s)", problem)
                await super().put(item)
                return
            if kept is None:
                return
            if self.process is not None:
                self._wake(lane_of(data))
                return
            item = kept
        await super().put(item)

    async def take_in(self, data: Any) -> None:
        """A webhook's update (parsed JSON): on disk and queued when this returns, so the
        webhook may answer 200. Raises :class:`Malformed` for what is not an update."""
        if not isinstance(data, dict):
            raise Malformed("not an object")
        kept = self._keep(data, None)
        if kept is not None:
            if self.process is not None:
                self._wake(lane_of(data))
            else:
                await super().put(kept)

    def _keep(self, data: dict[str, Any], update: Update | None) -> Update | None:
        """Sanitise, parse, store. None when this update is already waiting (sent twice)."""
        update_id = data.get("update_id")
        if isinstance(update_id, bool) or not isinstance(update_id, int):
            raise Malformed("update_id is not a number")
        if not 0 <= update_id <= MAX_UPDATE_ID:
            raise Malformed("update_id is out of range")
        if sanitise(data) or update is None:
            try:
                update = Update.de_json(data, self.bot)
            except Exception as error:  # python-telegram-bot's own checks of the shape
                raise Malformed(f"not a Telegram update ({type(error).__name__})") from None
        try:
            body = json.dumps(data, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError) as error:
            raise Malformed(f"cannot be stored ({type(error).__name__})") from None
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO telegram_updates (update_id, body, at, lane) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (update_id) DO NOTHING",
                (update_id, body, utc_iso(self.clock()), lane_of(data)),
            )
        return update if cursor.rowcount == 1 else None

    def done(self, update: Update) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM telegram_updates WHERE update_id = ?", (update.update_id,)
            )

    def waiting(self) -> int:
        """How many updates are taken in and not handled yet."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM telegram_updates").fetchone()[0])

    async def replay(self) -> int:
        """Handle what nobody is working on: taken in by a run (or a replica) that died or
        stopped before it finished. Returns how many lanes (or, without :attr:`process`,
        updates) were picked up."""
        if self.process is not None:
            live = self.claims.live(PREFIX) | {
                name[len(PREFIX) :] for name in self.claims.held if name.startswith(PREFIX)
            }
            with self._lock:
                lanes = [
                    str(r[0])
                    for r in self._db.execute(
                        "SELECT lane, MIN(update_id) AS oldest FROM telegram_updates "
                        "GROUP BY lane ORDER BY oldest"
                    ).fetchall()
                ]
            waiting = [lane for lane in lanes if lane not in live]
            for lane in waiting:
                self._wake(lane)
            if waiting:
                log.info(
                    "telegram inbox: handling updates left unfinished in %d chat(s)", len(waiting)
                )
            return len(waiting)
        with self._lock:
            rows = self._db.execute(
                "SELECT update_id, body FROM telegram_updates ORDER BY update_id"
            ).fetchall()
        for update_id, body in rows:
            try:
                update = Update.de_json(json.loads(body), self.bot)
            except Exception as error:
                log.error("telegram inbox: dropped an unreadable update (%s)", type(error).__name__)
                with self._lock:
                    self._db.execute(
                        "DELETE FROM telegram_updates WHERE update_id = ?", (update_id,)
                    )
                continue
            await super().put(update)
        if rows:
            log.info("telegram inbox: handling %d update(s) left from before a restart", len(rows))
        return len(rows)


class InboxApplication(Application):  # type: ignore[type-arg]
    """python-telegram-bot's Application that tells the inbox when an update is handled.

    Handler errors are caught and reported by python-telegram-bot itself, so an update is
    done once ``process_update`` returns (or raises: it is not retried for ever). Only a
    cancellation (a hurried stop) leaves it in the inbox for the next start."""

    async def process_update(self, update: object) -> None:
        try:
            await super().process_update(update)
        finally:
            inbox = self.update_queue
            if isinstance(update, Update) and isinstance(inbox, UpdateInbox):
                task = asyncio.current_task()
                if task is None or not task.cancelling():
                    inbox.done(update)
