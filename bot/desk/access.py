"""Who may see and do what in the desk.

A worker sees every waiting handoff (so that no question waits because its own worker is
away), the handoffs of their schools and areas (their team's), and their own. A coordinator
sees all. Everything else is refused, by URL as well as by form: every route that names a
handoff asks :func:`can_see` first.
"""

from __future__ import annotations

from bot.handoff.store import Handoff
from bot.handoff.workers import BridgeWorker


def can_see(worker: BridgeWorker, handoff: Handoff) -> bool:
    return (
        worker.coordinator
        or handoff.status == "waiting"
        or handoff.worker_key == worker.key
        or worker.covers(handoff.school, handoff.area)
    )


def owns(worker: BridgeWorker, handoff: Handoff) -> bool:
    return handoff.worker_key == worker.key


def may_write(worker: BridgeWorker, handoff: Handoff) -> bool:
    """Answer the parent, close: the worker who has it."""
    return handoff.is_open and owns(worker, handoff)


def may_transfer(worker: BridgeWorker, handoff: Handoff) -> bool:
    """Give it to a colleague: the worker who has it; a coordinator also assigns any."""
    return handoff.is_open and (owns(worker, handoff) or worker.coordinator)


def may_register(worker: BridgeWorker, handoff: Handoff) -> bool:
    """Register a closed handoff (closed in Telegram, say): who had it, or a coordinator."""
    return owns(worker, handoff) or worker.coordinator
