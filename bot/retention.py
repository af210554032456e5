"""How long Wegwijs keeps what it knows about a parent, and the purge that enforces it.

Parents tell this bot about poverty, violence and residence status, so the rule is: keep as
little as possible, for as short as possible, and count anonymously what statistics need.

- A handed-off conversation (its transcript, its queued messages, its topic in the staff
  group) is deleted ``WEGWIJS_RETENTION_DAYS`` days (default 30) after the handoff closes.
  A handoff with no message either way for that many days is closed first, so no
  conversation is kept for ever because nobody closed it.
- A chat's state (language, part of Leuven, school, last topic) is deleted after the same
  number of days without a message, unless a handoff of that chat is still open.
- Messages that could not be delivered are dropped after that time too; sent messages leave
  the outbox at once (see :meth:`bot.handoff.outbox.Outbox.done`).
- Platform message ids (kept to answer a re-delivered message once) go after 8 days: Meta
  re-delivers a webhook for up to 7 days, Telegram for 1.
- WhatsApp's 24-hour-window rows go 2 days after the parent's last message, unless an
  answer is still held for them.

What stays is anonymous daily counts (``unmet_needs``, ``handoff_counts``): never a chat id.
The purge runs when the bot starts, every hour while ``wegwijs serve`` runs, and on demand
with ``wegwijs purge``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.conversation.state import StateStore
from bot.handoff.desk import HandoffDesk

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30
SEEN_MESSAGES_KEPT = timedelta(days=8)
CONTACT_WINDOWS_KEPT = timedelta(days=2)
PURGE_EVERY = 3600.0  # seconds between purges while serving


class RetentionError(ValueError):
    """WEGWIJS_RETENTION_DAYS is not a whole number of days >= 1."""


@dataclass(frozen=True)
class Retention:
    days: int = DEFAULT_DAYS

    @classmethod
    def from_env(cls) -> Retention:
        raw = os.environ.get("WEGWIJS_RETENTION_DAYS", "").strip()
        if not raw:
            return cls()
        try:
            days = int(raw)
        except ValueError:
            days = 0
        if days < 1:
            raise RetentionError(
                f"WEGWIJS_RETENTION_DAYS must be a whole number of days, at least 1 (got {raw!r})"
            )
        return cls(days)


@dataclass
class Purged:
    counts: dict[str, int] = field(default_factory=dict)
    topics: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        parts = [f"{n} {kind}" for kind, n in self.counts.items() if n]
        if self.topics:
            parts.append(f"{self.topics} staff topics queued for deletion")
        return ", ".join(parts) or "nothing was due"


def purge(state: StateStore, desk: HandoffDesk, policy: Retention, now: datetime) -> Purged:
    """Delete everything whose retention time is over at ``now`` (an aware datetime)."""
    cutoff = now - timedelta(days=policy.days)
    desk.close_idle(desk.store.idle_open(cutoff), policy.days)
    expired = desk.store.closed_before(cutoff)
    # Topics first: if we crash right after, the next purge finds the handoffs again.
    desk.expire(expired, policy.days)
    counts = state.purge(
        handoff_ids=[h.id for h in expired],
        idle_before=cutoff,
        seen_before=now - SEEN_MESSAGES_KEPT,
        window_before=(now - CONTACT_WINDOWS_KEPT).timestamp(),
    )
    result = Purged(counts, sum(h.topic_id is not None for h in expired))
    if result.total or result.topics:
        log.info("retention purge (%d days): %s", policy.days, result.summary())
    return result
