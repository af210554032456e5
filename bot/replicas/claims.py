"""Claims: "replica R does X until T", one row per X in the shared database.

A claim is taken with one upsert and given back with one conditional delete, in the SQL that
SQLite and PostgreSQL both accept; times come from the bot's one clock (:mod:`bot.clock`). The
owner's heartbeat (:meth:`Claims.renew_mine`) moves every expiry of its claims forward, so a
claim outlives a slow step (Rasa, a platform's 429) as long as its replica lives, and expires
``WEGWIJS_LEASE_SECONDS`` after it died (SIGKILL, a lost machine).

The lost wake-up. Replica B queues work for X while A holds X's claim and is about to let go
after finding nothing more to do: B's attempt fails, A lets go, and the work waits for a
sweep. Each failed attempt therefore *knocks* (``knocks + 1`` on the claim's row, in the same
upsert), and A gives the claim back only if nobody knocked since it last looked
(``DELETE ... WHERE knocks = <seen>``); otherwise it looks again. Both statements touch the
same row, so the database orders them (PostgreSQL's row lock, SQLite's single writer):
either B's knock comes first and A looks again, or A's delete comes first and B's upsert
inserts a fresh claim that B then holds. The periodic sweep of the server (``BotServer._sweep`` in
:mod:`bot.server`) stays as the safety net for work whose replica died.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.clock import utc_iso_ms
from bot.conversation.state import StateStore
from bot.replicas import lease_seconds

log = logging.getLogger(__name__)


class Claims:
    """The claims of this replica (``state.replica``) in the state database."""

    def __init__(self, state: StateStore, ttl: float | None = None) -> None:
        self._db, self._lock = state.connection
        self.clock = state.clock
        self.owner = state.replica
        self.ttl = timedelta(seconds=ttl if ttl is not None else lease_seconds())
        self.held: set[str] = set()  # taken by a coroutine of this process, not given back yet

    def _until(self) -> str:
        return utc_iso_ms(self.clock() + self.ttl)

    def _now(self) -> str:
        return utc_iso_ms(self.clock())

    def take(self, name: str) -> int | None:
        """Claim ``name``: its knock count when it is ours now, None when someone else holds
        it (a live replica, or another coroutine here): they were knocked and look again."""
        if name in self.held:
            with self._lock:
                self._db.execute("UPDATE claims SET knocks = knocks + 1 WHERE name = ?", (name,))
            return None
        now = self._now()
        with self._lock:
            row = self._db.execute(
                "INSERT INTO claims (name, owner, expires_at, knocks) VALUES (?, ?, ?, 0) "
                "ON CONFLICT (name) DO UPDATE SET "
                "owner = CASE WHEN claims.expires_at < ? OR claims.owner = excluded.owner "
                "THEN excluded.owner ELSE claims.owner END, "
                "expires_at = CASE WHEN claims.expires_at < ? OR claims.owner = excluded.owner "
                "THEN excluded.expires_at ELSE claims.expires_at END, "
                "knocks = claims.knocks + 1 "
                "RETURNING owner, knocks",
                (name, self.owner, self._until(), now, now),
            ).fetchone()
        if row is None or row[0] != self.owner:
            return None
        self.held.add(name)
        return int(row[1])

    def keep(self, name: str) -> bool:
        """Still ours? (and good for another lease period). False once another replica took
        it over: whatever we were doing under it must not be committed."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE claims SET expires_at = ? WHERE name = ? AND owner = ?",
                (self._until(), name, self.owner),
            )
        if cur.rowcount != 1:
            self.held.discard(name)
            return False
        return True

    def let_go(self, name: str, knocks: int) -> int | None:
        """Give ``name`` back if nobody knocked since ``knocks``. None when it is given back
        (or was not ours any more); else the new knock count: look for work again."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM claims WHERE name = ? AND owner = ? AND knocks = ?",
                (name, self.owner, knocks),
            )
            row = (
                None
                if cur.rowcount == 1
                else self._db.execute(
                    "SELECT owner, knocks FROM claims WHERE name = ?", (name,)
                ).fetchone()
            )
        if row is None or row[0] != self.owner:
            self.held.discard(name)
            return None
        return int(row[1])

    def drop(self, name: str) -> None:
        """Give ``name`` back whatever happened (an error, a stop): the work under it is
        someone else's at once."""
        self.held.discard(name)
        with self._lock:
            self._db.execute("DELETE FROM claims WHERE name = ? AND owner = ?", (name, self.owner))

    def renew_mine(self) -> int:
        """The heartbeat: every claim of this replica lives another lease period."""
        with self._lock:
            return self._db.execute(
                "UPDATE claims SET expires_at = ? WHERE owner = ?", (self._until(), self.owner)
            ).rowcount

    def forget_previous_life(self) -> int:
        """At the start: claims under this replica's name are a previous process's (killed:
        same host and port); they are given back so the work under them is done now."""
        self.held.clear()
        with self._lock:
            return self._db.execute("DELETE FROM claims WHERE owner = ?", (self.owner,)).rowcount

    def give_back_all(self) -> None:
        """At a stop: everything this replica holds goes to the others at once."""
        self.held.clear()
        with self._lock:
            self._db.execute("DELETE FROM claims WHERE owner = ?", (self.owner,))

    def free(self, prefix: str) -> set[str]:
        """Names under ``prefix`` that nobody holds now (expired), without the prefix."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name FROM claims WHERE name LIKE ? AND expires_at < ?",
                (prefix + "%", self._now()),
            ).fetchall()
        return {str(r[0])[len(prefix) :] for r in rows}

    def live(self, prefix: str) -> set[str]:
        """Names under ``prefix`` held by a live replica (another one, or a coroutine here)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name FROM claims WHERE name LIKE ? AND expires_at >= ?",
                (prefix + "%", self._now()),
            ).fetchall()
        return {str(r[0])[len(prefix) :] for r in rows}


async def under_claim(
    claims: Claims, name: str, step: Callable[[], Awaitable[bool]], *, stopping: Callable[[], bool]
) -> bool:
    """Do ``step`` under the claim ``name`` until it says there is nothing more (False), then
    give the claim back, unless someone knocked meanwhile (then look again). Returns False when
    the claim was someone else's: they do the work. A step that raises, or a cancellation,
    gives the claim back for whoever comes next."""
    knocks = claims.take(name)
    if knocks is None:
        return False
    try:
        while True:
            while not stopping() and await step():
                if not claims.keep(name):
                    log.warning("claims: one was taken over by another replica mid-way")
                    return True
            if stopping():
                claims.drop(name)
                return True
            again = claims.let_go(name, knocks)
            if again is None:
                return True
            knocks = again
    except BaseException:
        claims.drop(name)
        raise
