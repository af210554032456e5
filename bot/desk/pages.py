"""What the desk's pages show, from the database: the lists, one handoff with its
conversation, the registration form's choices, and the few words a live update says.

Nothing here decides who may see what (:mod:`bot.desk.access` and the routes in
:mod:`bot.desk.web` do) and nothing here writes, except the unread marks a page view sets.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from bot.conversation.state import StateStore
from bot.desk import access, views
from bot.desk.reads import ReadMarks
from bot.handoff import staff_texts
from bot.handoff.desk import HandoffDesk
from bot.handoff.registrations import CONTACT_TYPES, THEMES, RegistrationStore, school_year_start
from bot.handoff.store import Handoff
from bot.handoff.workers import BridgeWorker, Team

PREFIX = "/desk"


class PageData:
    """Mixed into :class:`bot.desk.web.DeskWeb`, which sets these attributes."""

    desk: HandoffDesk
    state: StateStore
    reads: ReadMarks
    registrations: RegistrationStore
    services: Callable[[], list[tuple[str, str]]]
    schools: Callable[[], list[tuple[str, str]]]
    retention_days: int
    window_clock: Callable[[], float]

    def now(self) -> datetime:
        return self.desk.clock()

    def today(self) -> date:
        return views.local(self.now()).date()

    @property
    def team(self) -> Team:
        return self.desk.team

    def _school_name(self, school: str | None) -> str | None:
        return self.desk.school_names(school) if school else None

    def _rows(self, worker: BridgeWorker, handoffs: list[Handoff]) -> list[dict[str, object]]:
        now = self.now()
        ids = [h.id for h in handoffs]
        last = self.desk.store.last_parent_message(ids)
        seen = self.reads.marks(worker.key, ids)
        rows = []
        for h in handoffs:
            row = views.row(h, self.team, now, self._school_name(h.school))
            row["unread"] = last.get(h.id, 0) > seen.get(h.id, 0)
            rows.append(row)
        return rows

    def _lists(self, worker: BridgeWorker) -> dict[str, Any]:
        store = self.desk.store
        today = self.today()
        waiting = store.listing(status=("waiting",))
        active = store.listing(status=("active",))
        mine = [h for h in active if h.worker_key == worker.key]
        team = [h for h in active if h.worker_key != worker.key and worker.covers(h.school, h.area)]
        others = [
            h for h in active if worker.coordinator and h.worker_key != worker.key and h not in team
        ]
        closed = store.listing(
            status=("closed",),
            worker=None if worker.coordinator else worker.key,
            closed_since=self.now() - timedelta(days=self.retention_days),
        )
        registered = self.registrations.registered_since([h.id for h in closed])
        to_register = [
            h
            for h in closed
            if (h.worker_key == worker.key or (worker.coordinator and h.worker_key is None))
            and (h.id not in registered or (h.closed_at and registered[h.id] < h.closed_at))
        ]
        follow_ups = []
        for reg in self.registrations.follow_ups(worker.key, today):
            handoff = store.get(reg.handoff_id) if reg.handoff_id else None
            follow_ups.append(
                {
                    "reg": reg,
                    "handoff": handoff,
                    "themes": ", ".join(THEMES.get(t, t) for t in reg.themes),
                    "contact": CONTACT_TYPES.get(reg.contact_type, reg.contact_type),
                    "late": reg.follow_up_on is not None and reg.follow_up_on < today,
                }
            )
        return {
            "follow_ups": follow_ups,
            "waiting": self._rows(worker, waiting),
            "mine": self._rows(worker, mine),
            "to_register": self._rows(worker, to_register),
            "team": self._rows(worker, team),
            "others": self._rows(worker, others),
            "planned": self.registrations.planned(worker.key, today),
        }

    def _describe(
        self, kind: str, who: str | None, handoff: Handoff, worker: BridgeWorker
    ) -> tuple[str, bool]:
        label = f"#{handoff.id} · {staff_texts.LANGUAGE_NAMES.get(handoff.language, handoff.language)} · {views.area_label(handoff.area)}"
        urgent = "🚨 " if handoff.urgent else ""
        mine = handoff.worker_key == worker.key
        if kind == "opened":
            return f"{urgent}Nieuwe vraag {label}", True
        if kind == "parent":
            return (
                f"Nieuw bericht van de ouder in vraag #{handoff.id}",
                mine or handoff.status == "waiting",
            )
        if kind == "escalate":
            return f"⚠️ Vraag #{handoff.id} wacht al meer dan 2 uur", worker.coordinator or mine
        if kind == "reannounce":
            return f"⏰ Vraag #{handoff.id} wacht nog op iemand", True
        if kind == "quiet":
            return f"⏰ Vraag #{handoff.id}: de ouder wacht op een antwoord", True
        if kind == "follow_up":
            return f"📌 Vraag #{handoff.id}: vandaag opvolgen", who == worker.key
        if kind == "transferred":
            name = views.worker_name(self.team, who)
            return f"Vraag #{handoff.id} is doorgegeven aan {name}", who == worker.key
        if kind == "held":
            return f"Vraag #{handoff.id}: antwoord wacht op het WhatsApp-venster", mine
        names = {
            "picked_up": "opgepakt",
            "closed": "afgesloten",
            "worker": "beantwoord",
            "note": "notitie",
            "reopened": "heropend",
            "notice": "melding",
            "registered": "geregistreerd",
        }
        return f"Vraag #{handoff.id}: {names.get(kind, kind)}", False

    def _messages(self, handoff: Handoff, after: int = 0) -> list[dict[str, object]]:
        statuses = self.desk.outbox.statuses(handoff.id)
        now = self.now()
        shown = []
        for said in self.desk.store.messages(handoff.id, after):
            if said.sender in ("worker", "note"):
                name = views.worker_name(self.team, said.author) or "brugfiguur"
                who = f"📝 Interne notitie van {name}" if said.sender == "note" else f"🧑‍💼 {name}"
            else:
                who = views.SENDERS.get(said.sender, said.sender)
            media = None
            if said.media is not None:
                media = {
                    "kind": said.media.kind,
                    "name": said.media.file_name or views.KINDS.get(said.kind, said.kind),
                    "url": f"{PREFIX}/h/{handoff.id}/file/{said.id}",
                }
            kind_note = ""
            if (
                said.media is None
                and said.kind not in ("text", "button")
                and said.sender == "parent"
            ):
                kind_note = f"(de ouder stuurde {views.KINDS.get(said.kind, said.kind)})"
            shown.append(
                {
                    "id": said.id,
                    "sender": said.sender,
                    "who": who,
                    "at": views.when(said.at, now),
                    "text": said.text,
                    "media": media,
                    "kind_note": kind_note,
                    "status": statuses.get(said.id, "") if said.sender == "worker" else "",
                }
            )
        return shown

    def _handoff_context(self, handoff: Handoff, worker: BridgeWorker) -> dict[str, Any]:
        now = self.now()
        routed = self.team.find(handoff.routed_key)
        available = ""
        if routed is not None:
            start = routed.next_on_duty(now)
            available = (
                "werkt nu"
                if start == now
                else f"werkt weer vanaf {views.when(start, now)}"
                if start
                else "geen werkuren"
            )
        window = None
        held = 0
        if handoff.channel == "whatsapp":
            last, _ = self.state.last_heard(handoff.chat_key)
            window = views.whatsapp_window(last, self.window_clock())
            held = sum(1 for s in self.desk.outbox.statuses(handoff.id).values() if s == "held")
        registrations = self.registrations.for_handoff(handoff.id)
        registered = any(
            handoff.closed_at and r.created_at >= handoff.closed_at for r in registrations
        )
        school_year = school_year_start(self.today())
        return {
            "h": handoff,
            "row": views.row(handoff, self.team, now, self._school_name(handoff.school)),
            "messages": self._messages(handoff),
            "routed": routed,
            "why": views.WHY.get(handoff.routed_why or "", handoff.routed_why or ""),
            "available": available,
            "window": window,
            "held": held,
            "can_pickup": handoff.status == "waiting",
            "may_write": access.may_write(worker, handoff),
            "may_transfer": access.may_transfer(worker, handoff),
            "may_register": handoff.status == "closed"
            and access.may_register(worker, handoff)
            and not registered,
            "may_reopen": handoff.status == "closed" and access.may_register(worker, handoff),
            "registrations": registrations,
            "colleagues": views.first_names(
                tuple(w for w in self.team.active if w.key != worker.key)
            ),
            "services": self.services(),
            "reg": {
                "themes": [handoff.need] if handoff.need in THEMES else [],
                "contact_type": "chat",
                "outcome": "",
                "services": [],
                "new_family": not self.registrations.known_family(handoff.chat_key, school_year),
                "follow_up_on": "",
            },
            "reg_errors": [],
            "form": {},
            "today": self.today().isoformat(),
        }

    def _register_context(self, worker: BridgeWorker) -> dict[str, Any]:
        mine = set(worker.schools)
        schools = sorted(self.schools(), key=lambda s: (s[0] not in mine, s[1]))
        return {
            "services": self.services(),
            "schools": schools,
            "areas": [(a, views.area_label(a)) for a in views.AREA_LABELS],
            "languages": list(staff_texts.LANGUAGE_NAMES.items()),
            "today": self.today().isoformat(),
            "reg": {
                "themes": [],
                "contact_type": "walk_in",
                "outcome": "answered",
                "services": [],
                "new_family": False,
                "follow_up_on": "",
                "contact_on": self.today().isoformat(),
                "school": worker.schools[0] if worker.schools else "",
                "area": worker.areas[0] if worker.areas else "",
                "language": "",
            },
            "reg_errors": [],
            "recent": self.registrations.by_worker(worker.key, school_year_start(self.today()), 10),
        }
