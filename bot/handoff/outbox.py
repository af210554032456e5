"""A persistent, ordered outbox: what the bot must still send, kept until it has been sent.

Every message to a parent and to the staff group goes through here rather than straight to
the platform, because: the platforms answer 429 and 5xx now and then (we retry with backoff,
and keep the order within a chat), Telegram lets a bot post only about 20 messages a minute
into a group (we queue, and batch what piles up), and the process may be killed at any moment
(the queue lives in the database and survives a restart). Chats are independent: a failing chat
waits for its retry without holding up anyone else. With several replicas, each key (a chat,
the staff group) is sent by one replica at a time, under a claim (:meth:`Outbox._drain_key`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import utc_iso_ms
from bot.conversation.state import StateStore
from bot.replicas.claims import Claims, under_claim
from bot.replicas.leaving import on_leaving

log = logging.getLogger(__name__)
MAX_BACKOFF = 60.0
PARALLEL_CHATS = 16


class Undeliverable(Exception):
    """The platform refused for good (blocked bot, deleted chat): retrying cannot help."""


class Held(Exception):
    """Not now, and not by retrying: kept aside until :meth:`Outbox.release` (WhatsApp's 24-hour
    window: a worker's answer waits until the parent writes again)."""


@dataclass(frozen=True)
class Item:
    id: int
    lane: str
    key: str
    handoff_id: int | None
    action: str
    payload: dict[str, Any]
    attempts: int


INSERT = (
    "INSERT INTO outbox (lane, key, handoff_id, action, payload, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)

# A lane's sender gets the due items of one key, oldest first, and returns how many it
# delivered from the front; it raises for the first one it could not send.
Deliver = Callable[[list[Item]], Awaitable[int]]


class Outbox:
    def __init__(self, state: StateStore) -> None:
        self._db, self._lock = state.connection
        self._clock = state.clock  # queue times, retry backoff: the bot's one clock
        self._wake: dict[str, asyncio.Event] = {}
        self._stop_at: float | None = None  # event-loop time after which no send starts
        self.claims = Claims(state)  # one key (chat, staff group) sent by one replica at a time
        self._cut_off: set[int] = set()  # rows found mid-send: their replica died
        self.resent_after_crash = 0

    def stop(self, grace: float) -> None:
        """Let the lanes end: a send under way is finished (never cut off halfway, which could
        send a message twice), what else is due is still sent for ``grace`` seconds, and the
        rest stays queued for the next start. :meth:`run` returns after that."""
        self._stop_at = asyncio.get_running_loop().time() + grace
        for wake in self._wake.values():
            wake.set()

    def _out_of_time(self) -> bool:
        return self._stop_at is not None and asyncio.get_running_loop().time() >= self._stop_at

    def _now(self) -> str:
        return utc_iso_ms(self._clock())

    def put(
        self,
        lane: str,
        key: str,
        action: str,
        payload: dict[str, Any],
        handoff_id: int | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(INSERT, self.row(lane, key, action, payload, handoff_id))
        self.wake(lane)

    def row(
        self,
        lane: str,
        key: str,
        action: str,
        payload: dict[str, Any],
        handoff_id: int | None = None,
    ) -> tuple[object, ...]:
        """The parameters of :data:`INSERT` for one item (to queue it inside a transaction of
        one's own, e.g. with the message it answers: :mod:`bot.replicas.inbox`)."""
        return (lane, key, handoff_id, action, json.dumps(payload, ensure_ascii=False), self._now())

    def wake(self, lane: str) -> None:
        if lane in self._wake:
            self._wake[lane].set()

    def due(self, lane: str, limit: int = 500) -> dict[str, list[Item]]:
        """Pending items per key, oldest first, stopping at a key's first item still backing off."""
        now = self._now()
        with self._lock:
            rows = self._db.execute(
                "SELECT id, lane, key, handoff_id, action, payload, attempts, not_before FROM outbox "
                "WHERE lane = ? AND status = 'pending' ORDER BY id LIMIT ?",
                (lane, limit),
            ).fetchall()
        groups: dict[str, list[Item]] = {}
        blocked: set[str] = set()
        for r in rows:
            key = r[2]
            if key in blocked:
                continue
            if r[7] and r[7] > now:
                blocked.add(key)
                continue
            groups.setdefault(key, []).append(
                Item(r[0], r[1], key, r[3], r[4], json.loads(r[5]), r[6])
            )
        return groups

    def count_pending(self, lane: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
        params: tuple[str, ...] = ()
        if lane:
            sql += " AND lane = ?"
            params = (lane,)
        with self._lock:
            return int(self._db.execute(sql, params).fetchone()[0])

    def mark(self, items: list[Item], status: str) -> None:
        with self._lock:
            self._db.executemany(
                "UPDATE outbox SET status = ?, sending_by = NULL WHERE id = ?",
                [(status, item.id) for item in items],
            )

    def done(self, items: list[Item]) -> None:
        """Sent: the row goes at once, because its payload is a message's text."""
        with self._lock:
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(item.id,) for item in items])

    def release(self, lane: str, key: str) -> int:
        """Put held items back in line, in their original order (before anything newer)."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE outbox SET status = 'pending', not_before = NULL "
                "WHERE lane = ? AND key = ? AND status = 'held'",
                (lane, key),
            )
        if cur.rowcount:
            self.wake(lane)
        return cur.rowcount

    def statuses(self, handoff_id: int) -> dict[int, str]:
        """What is still on its way to the parent of this handoff, by transcript line
        (``said``): pending, held (WhatsApp's 24-hour window) or undeliverable. A line that
        is not here was sent."""
        with self._lock:
            rows = self._db.execute(
                "SELECT status, payload FROM outbox WHERE lane = 'parent' AND handoff_id = ?",
                (handoff_id,),
            ).fetchall()
        found: dict[int, str] = {}
        for status, payload in rows:
            said = json.loads(payload).get("said")
            if isinstance(said, int):
                found[said] = status
        return found

    def oldest_pending(self) -> datetime | None:
        """When the oldest message still waiting to go out was queued: a growing age means a
        platform has been refusing us for a while."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(created_at) FROM outbox WHERE status = 'pending'"
            ).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def count_held(self) -> int:
        with self._lock:
            return int(
                self._db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'held'").fetchone()[0]
            )

    def postpone(self, item: Item) -> float:
        """Back off after a failure: 1, 2, 4... up to 60 seconds. Returns the delay."""
        delay = min(MAX_BACKOFF, 2.0**item.attempts)
        not_before = self._clock() + timedelta(seconds=delay)
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, not_before = ?, sending_by = NULL "
                "WHERE id = ?",
                (utc_iso_ms(not_before), item.id),
            )
        return delay

    def _pending(self, lane: str, key: str) -> list[Item]:
        """The key's items that are due now, oldest first (read again under its claim: another
        replica may have sent some since :meth:`due` looked)."""
        now = self._now()
        with self._lock:
            rows = self._db.execute(
                "SELECT id, lane, key, handoff_id, action, payload, attempts, not_before, "
                "sending_by FROM outbox WHERE lane = ? AND key = ? AND status = 'pending' "
                "ORDER BY id LIMIT 50",
                (lane, key),
            ).fetchall()
        items: list[Item] = []
        for r in rows:
            if r[7] and r[7] > now:
                break
            items.append(Item(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]))
            if r[8] is not None:
                self._cut_off.add(r[0])
        return items

    def _sending(self, items: list[Item]) -> None:
        """Mark the items whose request goes out now (see :meth:`_drain_key`)."""
        with self._lock:
            self._db.executemany(
                "UPDATE outbox SET sending_by = ?, sending_at = ? WHERE id = ?",
                [(self.claims.owner, self._now(), item.id) for item in items],
            )

    def _not_sending(self, items: list[Item]) -> None:
        if items:
            with self._lock:
                self._db.executemany(
                    "UPDATE outbox SET sending_by = NULL, sending_at = NULL WHERE id = ?",
                    [(item.id,) for item in items],
                )

    async def _drain_key(self, lane: str, key: str, deliver: Deliver) -> int:
        """Send the key's due items, in order, under the claim ``outbox:<lane>:<key>`` (one
        replica per chat at a time, whichever replica queued them).

        The window between a send and its mark. A platform call cannot be made atomic with
        our database: the message leaves, then we delete its row, and a replica killed in
        between (SIGKILL, a lost machine) leaves a row whose message the parent may already
        have. Nothing tells us which: Telegram and the Graph API take no idempotency key and
        cannot be asked what a chat received. So the window is kept as short as it can be and
        the choice in it is made once, here:

        - An item is sent alone (parents' lanes deliver one item per call) and its row is
          deleted in the same step of the event loop as the platform's answer arrives: no
          ``await`` between them, so nothing else of this process runs in between. The window
          is the platform's round trip plus one local write.
        - When the request really leaves (after Telegram's rate limiter, when the channel's
          HTTP layer calls :func:`bot.replicas.leaving.leaving`), the row is marked
          ``sending_by``/``sending_at``. A row found marked by whoever takes the key over was
          in that window when its replica died; one waiting behind the rate limiter is not
          marked, so it is certainly unsent and is sent once by the survivor.
        - Such a row is sent again (at least once): an answer a parent never gets, or a bridge
          worker's reply that silently disappears, is worse than one message seen twice. The
          resend is logged and counted (``/healthz``: outbox ``resent_after_crash``), so the
          duplicates a crash can cause are bounded (at most the sends in flight at the crash,
          :data:`PARALLEL_CHATS` per lane) and visible. Rows never marked are certainly unsent.

        Within one process the asyncio loop cannot be cut between the answer and the delete;
        a SIGTERM lets a send under way finish (:meth:`stop`), so only a kill opens the window.
        """
        done = 0

        async def step() -> bool:
            nonlocal done
            items = self._pending(lane, key)
            if not items or self._out_of_time():
                return False
            again = [item.id for item in items if item.id in self._cut_off]
            if again:
                self._cut_off.difference_update(again)
                self.resent_after_crash += len(again)
                log.warning(
                    "outbox %s: %d message(s) cut off by a replica's death are sent again",
                    lane,
                    len(again),
                )
            marked = False

            def mark() -> None:  # a request for these items is leaving now (see above)
                nonlocal marked
                if not marked:
                    marked = True
                    self._sending(items)

            try:
                with on_leaving(mark):
                    sent = await deliver(items)
            except Undeliverable as error:
                log.warning("outbox %s: item %d undeliverable (%s)", lane, items[0].id, error)
                self.mark(items[:1], "undeliverable")
                self._not_sending(items[1:])
                return True
            except Held:
                self.mark(items[:1], "held")
                self._not_sending(items[1:])
                return True
            except Exception as error:  # network, 429, 5xx: keep it and try again later
                delay = self.postpone(items[0])
                self._not_sending(items[1:])
                log.warning(
                    "outbox %s: sending failed (%s), retry in %.0f s",
                    lane,
                    type(error).__name__,
                    delay,
                )
                return False
            if sent <= 0:
                self._not_sending(items)
                return False
            self.done(items[:sent])  # at once: see the window above
            self._not_sending(items[sent:])
            done += sent
            return True

        await under_claim(self.claims, f"outbox:{lane}:{key}", step, stopping=self._out_of_time)
        return done

    async def drain(self, lane: str, deliver: Deliver) -> int:
        """Send everything that is due in this lane now. Returns the number delivered."""
        total = 0
        limit = asyncio.Semaphore(PARALLEL_CHATS)

        async def one(key: str) -> int:
            async with limit:
                return await self._drain_key(lane, key, deliver)

        while not self._out_of_time() and (groups := self.due(lane)):
            results = await asyncio.gather(*(one(key) for key in groups))
            total += sum(results)
            if sum(results) == 0:
                break
        return total

    async def run(self, lane: str, deliver: Deliver, idle: float = 1.0) -> None:
        """Drain the lane until :meth:`stop`: at once when something is put, else every
        ``idle`` seconds."""
        wake = self._wake.setdefault(lane, asyncio.Event())
        while True:
            wake.clear()
            stopping = self._stop_at is not None
            try:
                await self.drain(lane, deliver)
            except Exception as error:  # a bug in a sender must not stop the lane
                log.error("outbox %s: %s", lane, type(error).__name__)
            if stopping or self._out_of_time():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=idle)
