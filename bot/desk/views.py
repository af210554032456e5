"""Turning the desk's data into what a page shows: Dutch labels, Leuven times, the WhatsApp
window. No HTML here (the templates escape everything they print)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

from bot.conversation.vocabulary import AREA_LABELS
from bot.handoff import staff_texts
from bot.handoff.store import Handoff
from bot.handoff.workers import BridgeWorker, Team

BRUSSELS = ZoneInfo("Europe/Brussels")
WINDOW = timedelta(hours=24)
STATUS = {"waiting": "Wachtend", "active": "Opgepakt", "closed": "Afgesloten"}
WHY = {"school": "school", "area": "wijk", "language": "taal", "on duty": "van dienst"}
SENDERS = {
    "parent": "👤 Ouder",
    "bot": "🤖 Wegwijs",
    "system": "⚙️ Wegwijs (melding)",
}
KINDS = {
    "photo": "foto",
    "document": "document",
    "voice": "spraakbericht",
    "location": "locatie",
    "other": "iets dat de bot niet kan tonen",
}


def local(moment: datetime) -> datetime:
    return moment.astimezone(BRUSSELS)


def when(moment: datetime | None, now: datetime) -> str:
    """'10:05' today, 'ma 23 nov 10:05' otherwise (Dutch, Leuven time)."""
    if moment is None:
        return ""
    moment = local(moment)
    if moment.date() == local(now).date():
        return format_time(moment, "HH:mm", locale="nl_BE")
    return format_datetime(moment, "EEE d MMM HH:mm", locale="nl_BE")


def day(value: date) -> str:
    return format_date(value, "EEEE d MMMM", locale="nl_BE")


def duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} u {minutes:02d} min"
    return f"{hours // 24} dagen"


def area_label(area: str | None) -> str:
    return staff_texts.NL._(AREA_LABELS[area]) if area in AREA_LABELS else "onbekend"


def need_label(need: str | None) -> str:
    from bot.conversation.vocabulary import NEED_LABELS

    return staff_texts.NL._(NEED_LABELS[need]) if need in NEED_LABELS else "onbekend"


@dataclass(frozen=True)
class Window:
    """WhatsApp's 24-hour window for a handoff, as the worker needs to know it."""

    open: bool
    left: str  # "3 u 20 min" while open
    since: str  # when the parent last wrote


def whatsapp_window(last_heard: float | None, now: float) -> Window:
    """``now`` and ``last_heard`` in unix time, as the WhatsApp channel keeps them."""
    if last_heard is None or last_heard <= 0:
        return Window(False, "", "onbekend")
    left = timedelta(seconds=last_heard + WINDOW.total_seconds() - now)
    moment = datetime.fromtimestamp(now, tz=BRUSSELS)
    last = datetime.fromtimestamp(last_heard, tz=BRUSSELS)
    return Window(left > timedelta(0), duration(left), when(last, moment))


def worker_name(team: Team, key: str | None) -> str:
    worker = team.find(key)
    if worker is not None:
        return worker.first_name
    return "onbekende brugfiguur" if key else ""


def row(handoff: Handoff, team: Team, now: datetime, school: str | None) -> dict[str, object]:
    """One line in a list: no message text, only what the staff topic's title shows."""
    waiting_since = handoff.due_at if handoff.status == "waiting" else None
    return {
        "id": handoff.id,
        "urgent": handoff.urgent,
        "status": handoff.status,
        "status_label": STATUS.get(handoff.status, handoff.status),
        "reason": staff_texts.REASONS.get(handoff.reason, handoff.reason),
        "language": staff_texts.LANGUAGE_NAMES.get(handoff.language, handoff.language),
        "area": area_label(handoff.area),
        "need": need_label(handoff.need) if handoff.need else "",
        "school": school or "",
        "channel": staff_texts.CHANNELS.get(handoff.channel, handoff.channel),
        "worker": worker_name(team, handoff.worker_key),
        "suggested": worker_name(team, handoff.routed_key),
        "waiting": duration(now - waiting_since) if waiting_since and now > waiting_since else "",
        "created": when(handoff.created_at, now),
        "closed": when(handoff.closed_at, now),
        "escalated": handoff.escalated_at is not None,
    }


def first_names(workers: tuple[BridgeWorker, ...]) -> list[tuple[str, str]]:
    return [(w.key, w.first_name) for w in sorted(workers, key=lambda w: w.first_name)]
