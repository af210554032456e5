"""Registrations: what a bridge worker records about each contact, for the network's figures.

The network counts per school year (September to August) how many families it reached, how
many contacts it had and of what kind, and which themes came up. A registration holds exactly
that, and nothing to recognise a family by: no name, phone number, chat id or message text.
Its only link to a family is ``handoff_id``, which ``/forget`` and the retention purge clear
(:meth:`bot.conversation.state.StateStore.forget`, :meth:`~.StateStore.purge`). Whether this
was the family's first contact this school year is decided while that link still exists and
kept as a yes/no, so "families reached" can be counted after the link is gone.

SQL stays portable (no SQLite-only functions), because the same tables move to PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.conversation.i18n import Lang
from bot.conversation.state import StateStore, utc_iso
from bot.conversation.vocabulary import NEED_LABELS

NL = Lang("nl")
EXTRA_THEMES = {
    "listening_ear": "Luisterend oor",
    "new_parents": "Kennismaken met nieuwe ouders",
}
THEMES: dict[str, str] = {
    **{need: NL._(label) for need, label in NEED_LABELS.items()},
    **EXTRA_THEMES,
}
CONTACT_TYPES = {
    "chat": "Chat (Wegwijs)",
    "walk_in": "Permanentie (binnengelopen)",
    "phone": "Telefoon",
    "home_visit": "Huisbezoek",
    "group": "Groepsmoment",
}
OUTCOMES = {
    "answered": "Beantwoord",
    "referred": "Doorverwezen",
    "follow_up": "Opvolging gepland",
    "no_reaction": "Geen reactie",
}
SOURCES = ("handoff", "direct")


def school_year_start(day: date) -> date:
    """1 September of the school year ``day`` falls in."""
    return date(day.year if day.month >= 9 else day.year - 1, 9, 1)


@dataclass(frozen=True)
class Registration:
    id: int
    created_at: datetime
    contact_on: date
    worker: str
    source: str
    handoff_id: int | None
    contact_type: str
    channel: str
    language: str
    area: str
    school: str
    outcome: str
    new_family: bool
    follow_up_on: date | None
    follow_up_done_at: datetime | None
    participants: int | None
    themes: tuple[str, ...]
    services: tuple[str, ...]


@dataclass(frozen=True)
class NewRegistration:
    """What the form gives; checked by the desk before it is stored."""

    contact_on: date
    worker: str
    source: str
    contact_type: str
    outcome: str
    themes: tuple[str, ...]
    services: tuple[str, ...] = ()
    handoff_id: int | None = None
    channel: str = ""
    language: str = ""
    area: str = ""
    school: str = ""
    new_family: bool = False
    follow_up_on: date | None = None
    participants: int | None = None  # a group moment: how many parents took part


_COLUMNS = (
    "id, created_at, contact_on, worker, source, handoff_id, contact_type, channel, language, "
    "area, school, outcome, new_family, follow_up_on, follow_up_done_at, participants"
)


class RegistrationStore:
    def __init__(self, state: StateStore) -> None:
        self._db, self._lock = state.connection

    def add(self, new: NewRegistration, now: datetime) -> int:
        with self._db.transaction():
            reg_id = self._db.insert(
                "INSERT INTO registrations (created_at, contact_on, worker, source, "
                "handoff_id, contact_type, channel, language, area, school, outcome, "
                "new_family, follow_up_on, participants) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    utc_iso(now),
                    new.contact_on.isoformat(),
                    new.worker,
                    new.source,
                    new.handoff_id,
                    new.contact_type,
                    new.channel,
                    new.language,
                    new.area,
                    new.school,
                    new.outcome,
                    int(new.new_family),
                    new.follow_up_on.isoformat() if new.follow_up_on else None,
                    new.participants,
                ),
            )
            self._db.executemany(
                "INSERT INTO registration_themes (registration_id, theme) VALUES (?, ?)",
                [(reg_id, theme) for theme in dict.fromkeys(new.themes)],
            )
            self._db.executemany(
                "INSERT INTO registration_services (registration_id, service_id) VALUES (?, ?)",
                [(reg_id, service) for service in dict.fromkeys(new.services)],
            )
        return reg_id

    def _load(
        self, where: str, params: tuple[object, ...], order: str = "id"
    ) -> list[Registration]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM registrations WHERE {where} ORDER BY {order}", params
            ).fetchall()
            ids = [int(r[0]) for r in rows]
            themes: dict[int, list[str]] = {i: [] for i in ids}
            services: dict[int, list[str]] = {i: [] for i in ids}
            if ids:
                marks = ", ".join("?" * len(ids))
                for reg_id, theme in self._db.execute(
                    "SELECT registration_id, theme FROM registration_themes "
                    f"WHERE registration_id IN ({marks}) ORDER BY theme",
                    ids,
                ):
                    themes[int(reg_id)].append(theme)
                for reg_id, service in self._db.execute(
                    "SELECT registration_id, service_id FROM registration_services "
                    f"WHERE registration_id IN ({marks}) ORDER BY service_id",
                    ids,
                ):
                    services[int(reg_id)].append(service)
        return [
            Registration(
                id=int(r[0]),
                created_at=datetime.fromisoformat(r[1]),
                contact_on=date.fromisoformat(r[2]),
                worker=r[3],
                source=r[4],
                handoff_id=r[5],
                contact_type=r[6],
                channel=r[7],
                language=r[8],
                area=r[9],
                school=r[10],
                outcome=r[11],
                new_family=bool(r[12]),
                follow_up_on=date.fromisoformat(r[13]) if r[13] else None,
                follow_up_done_at=datetime.fromisoformat(r[14]) if r[14] else None,
                participants=r[15],
                themes=tuple(themes[int(r[0])]),
                services=tuple(services[int(r[0])]),
            )
            for r in rows
        ]

    def get(self, reg_id: int) -> Registration | None:
        found = self._load("id = ?", (reg_id,))
        return found[0] if found else None

    def for_handoff(self, handoff_id: int) -> list[Registration]:
        return self._load("handoff_id = ?", (handoff_id,))

    def registered_since(self, handoff_ids: list[int]) -> dict[int, datetime]:
        """The latest registration of each of these handoffs."""
        if not handoff_ids:
            return {}
        marks = ", ".join("?" * len(handoff_ids))
        with self._lock:
            rows = self._db.execute(
                "SELECT handoff_id, MAX(created_at) FROM registrations "
                f"WHERE handoff_id IN ({marks}) GROUP BY handoff_id",
                handoff_ids,
            ).fetchall()
        return {int(r[0]): datetime.fromisoformat(r[1]) for r in rows}

    def follow_ups(self, worker: str | None, until: date) -> list[Registration]:
        """Promises due by ``until`` and not yet kept (``worker`` None: everyone's)."""
        where = "follow_up_on IS NOT NULL AND follow_up_on <= ? AND follow_up_done_at IS NULL"
        params: tuple[object, ...] = (until.isoformat(),)
        if worker is not None:
            where += " AND worker = ?"
            params += (worker,)
        return self._load(where, params, "follow_up_on, id")

    def reminders_due(self, today: date) -> list[Registration]:
        """Promises due today (or missed) that the staff group was not reminded of yet."""
        return self._load(
            "follow_up_on IS NOT NULL AND follow_up_on <= ? AND follow_up_done_at IS NULL "
            "AND follow_up_reminded_on IS NULL",
            (today.isoformat(),),
            "follow_up_on, id",
        )

    def reminded(self, reg_id: int, today: date) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE registrations SET follow_up_reminded_on = ? WHERE id = ?",
                (today.isoformat(), reg_id),
            )

    def planned(self, worker: str, after: date) -> list[Registration]:
        """Follow-ups planned for later (shown so the worker sees what is coming)."""
        return self._load(
            "worker = ? AND follow_up_on > ? AND follow_up_done_at IS NULL",
            (worker, after.isoformat()),
            "follow_up_on, id",
        )

    def done(self, reg_id: int, now: datetime) -> bool:
        with self._lock:
            cur = self._db.execute(
                "UPDATE registrations SET follow_up_done_at = ? "
                "WHERE id = ? AND follow_up_done_at IS NULL AND follow_up_on IS NOT NULL",
                (utc_iso(now), reg_id),
            )
        return cur.rowcount == 1

    def by_worker(self, worker: str, since: date, limit: int = 50) -> list[Registration]:
        return self._load("worker = ? AND contact_on >= ?", (worker, since.isoformat()), "id DESC")[
            :limit
        ]

    def known_family(self, chat_key: str, since: date) -> bool:
        """Did this family (while we still know it) have a registered contact since ``since``?"""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM registrations r JOIN handoffs h ON r.handoff_id = h.id "
                "WHERE h.chat_key = ? AND r.contact_on >= ? LIMIT 1",
                (chat_key, since.isoformat()),
            ).fetchone()
        return row is not None
