"""Parents' messages in the shared database, handled chat by chat under a claim.

A message is in ``inbox`` from the moment it is taken in (with its platform id marked seen, in
one transaction: :meth:`bot.conversation.state.StateStore.accept`) until its replies are
queued. Whichever replica took it in, it is handled by the one that holds the chat's claim
(``inbox:<chat>``), oldest first: that is what keeps replies in order when two replicas
receive messages of one chat at the same time. The replies and the message's removal are one
transaction that first checks the claim is still ours, so a message is answered once even if
a replica lost its claim (it hung longer than a lease) and another one answered it meanwhile.
"""

from __future__ import annotations

from typing import Any

from bot.conversation.state import StateStore
from bot.handoff.outbox import INSERT, Outbox
from bot.replicas.claims import Claims

PREFIX = "inbox:"


class ChatInbox:
    def __init__(self, state: StateStore, outbox: Outbox, claims: Claims) -> None:
        self._db, self._lock = state.connection
        self.outbox = outbox
        self.claims = claims

    def next(self, chat_key: str) -> tuple[int, str] | None:
        """The chat's oldest message not handled yet: (inbox id, JSON)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, message FROM inbox WHERE chat_key = ? ORDER BY id LIMIT 1",
                (chat_key,),
            ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def orphans(self) -> list[str]:
        """Chats with messages waiting that nobody works on: their replica died (or this one
        was killed before, under the same name), or a wake-up was lost. Oldest first."""
        busy = self.claims.live(PREFIX) | {
            name[len(PREFIX) :] for name in self.claims.held if name.startswith(PREFIX)
        }
        with self._lock:
            rows = self._db.execute(
                "SELECT chat_key, MIN(id) AS oldest FROM inbox GROUP BY chat_key ORDER BY oldest"
            ).fetchall()
        return [str(r[0]) for r in rows if str(r[0]) not in busy]

    def finish(self, chat_key: str, inbox_id: int, replies: list[dict[str, Any]]) -> bool:
        """Queue the replies (``Outbox.row`` parameters) and drop the message, at once, if the
        chat's claim is still ours. False (nothing queued) when another replica took it over."""
        claim = PREFIX + chat_key
        with self._lock, self._db.transaction():
            fenced = self._db.execute(
                "UPDATE claims SET expires_at = expires_at WHERE name = ? AND owner = ?",
                (claim, self.claims.owner),
            ).rowcount
            if fenced != 1:
                return False  # nothing was written: the block commits nothing
            for reply in replies:
                self._db.execute(INSERT, self.outbox.row(**reply))
            self._db.execute("DELETE FROM inbox WHERE id = ?", (inbox_id,))
        if replies:
            self.outbox.wake("parent")
        return True

    def drop(self, inbox_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM inbox WHERE id = ?", (inbox_id,))
