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

- The desk: files a worker uploaded go with their handoff (rows and files on disk); the live
  update events after 2 days; sessions when they expire; failed sign-ins after 15 minutes;
  the audit log (who looked at which handoff, never content) after ``WEGWIJS_AUDIT_DAYS``
  (default 365).
- A closed handoff with a follow-up the worker planned (a registration's "follow up on
  DATE") is kept until that date, and its retention time counts from then.

What stays is anonymous: daily counts (``unmet_needs``, ``handoff_counts``) and registrations,
whose link to the handoff is cleared when the handoff goes: never a chat id.
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
DEFAULT_AUDIT_DAYS = 365
DESK_EVENTS_KEPT = timedelta(days=2)
SEEN_MESSAGES_KEPT = timedelta(days=8)
CONTACT_WINDOWS_KEPT = timedelta(days=2)
PURGE_EVERY = 3600.0  # seconds between purges while serving


class RetentionError(ValueError):
    """WEGWIJS_RETENTION_DAYS is not a whole number of days >= 1."""


def _days(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if days < 1:
        raise RetentionError(f"{name} must be a whole number of days, at least 1 (got {raw!r})")
    return days


@dataclass(frozen=True)
class Retention:
    days: int = DEFAULT_DAYS
    audit_days: int = DEFAULT_AUDIT_DAYS

    @classmethod
    def from_env(cls) -> Retention:
        return cls(
            _days("WEGWIJS_RETENTION_DAYS", DEFAULT_DAYS),
            _days("WEGWIJS_AUDIT_DAYS", DEFAULT_AUDIT_DAYS),
        )


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
    # Topics and files first: if we crash right after, the next purge finds the handoffs again.
    desk.expire(expired, policy.days)
    files = desk.files.delete_for([h.id for h in expired])
    counts = state.purge(
        handoff_ids=[h.id for h in expired],
        idle_before=cutoff,
        seen_before=now - SEEN_MESSAGES_KEPT,
        window_before=(now - CONTACT_WINDOWS_KEPT).timestamp(),
    )
    counts["desk files"] = files + desk.files.sweep()
    counts.update(purge_desk(state, policy, now))
    result = Purged(counts, sum(h.topic_id is not None for h in expired))
    if result.total or result.topics:
        log.info("retention purge (%d days): %s", policy.days, result.summary())
    return result


def purge_desk(state: StateStore, policy: Retention, now: datetime) -> dict[str, int]:
    """The desk's own rows that are kept for a while only (none of them holds content)."""
    from bot.desk.auth import AuditLog, DeskConfigError, DeskSettings, Throttle, purge_sessions
    from bot.handoff.events import EventLog

    try:
        settings = DeskSettings.from_env()
    except DeskConfigError:
        settings = DeskSettings()  # `wegwijs serve` refuses to start with it; purge goes on
    return {
        "desk events": EventLog(state).purge_before(now - DESK_EVENTS_KEPT),
        "desk sessions": purge_sessions(state, now, settings),
        "failed sign-ins": Throttle(state).purge(now),
        "audit entries": AuditLog(state).purge_before(now - timedelta(days=policy.audit_days)),
    }
