"""The desk's forms: reading them at bounded size, and checking a registration.

Kept apart from the routes so that the rules of a registration (what the network counts, and
what it must never hold) are in one small place.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from bot.desk import views
from bot.handoff import staff_texts
from bot.handoff.registrations import CONTACT_TYPES, OUTCOMES, THEMES, NewRegistration
from bot.handoff.store import Handoff
from bot.handoff.workers import BridgeWorker

MAX_FORM = 256 * 1024
FOLLOW_UP_MAX = timedelta(days=183)


class MultiDict:
    """A parsed form: one value or all values of a field."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.pairs if k == name), default)

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]


async def read_form(request: Request) -> MultiDict | None:
    """A urlencoded form, read up to :data:`MAX_FORM` bytes (None when larger or broken)."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM:
            return None
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=500
        )
    except ValueError:
        return None
    return MultiDict(pairs)


def check_registration(
    form: MultiDict,
    worker: BridgeWorker,
    handoff: Handoff | None,
    *,
    today: date,
    services: list[tuple[str, str]],
    schools: list[tuple[str, str]],
) -> tuple[NewRegistration | None, list[str], dict[str, Any]]:
    """Check the registration fields of a form (closing a handoff, or a contact outside the
    bot). Returns the registration or the problems (in Dutch, for the worker), and the values
    to show again. Unknown themes and services are dropped, never stored."""
    known_services = {sid for sid, _ in services}
    values: dict[str, Any] = {
        "themes": [t for t in form.getlist("theme") if t in THEMES],
        "contact_type": form.get("contact_type"),
        "outcome": form.get("outcome"),
        "services": [s for s in form.getlist("service") if s in known_services],
        "new_family": form.get("new_family") == "1",
        "follow_up_on": form.get("follow_up_on").strip(),
        "contact_on": form.get("contact_on").strip() or today.isoformat(),
        "school": form.get("school"),
        "area": form.get("area"),
        "language": form.get("language"),
        "participants": form.get("participants").strip(),
    }
    errors = []
    if not values["themes"]:
        errors.append("Kies minstens één thema.")
    if values["contact_type"] not in CONTACT_TYPES:
        errors.append("Kies hoe het contact verliep.")
    if values["outcome"] not in OUTCOMES:
        errors.append("Kies een uitkomst.")
    follow_up: date | None = None
    if values["follow_up_on"]:
        try:
            follow_up = date.fromisoformat(values["follow_up_on"])
        except ValueError:
            errors.append("Opvolgen: die datum kan ik niet lezen (jjjj-mm-dd).")
        else:
            if follow_up <= today:
                errors.append("Opvolgen: kies een datum vanaf morgen.")
            elif follow_up - today > FOLLOW_UP_MAX:
                errors.append("Opvolgen kan tot 6 maanden vooruit.")
    elif values["outcome"] == "follow_up":
        errors.append("Bij 'Opvolging gepland' hoort een datum: wanneer volg je op?")
    participants: int | None = None
    if values["contact_type"] == "group" and values["participants"]:
        if not values["participants"].isdigit() or not 0 < int(values["participants"]) < 1000:
            errors.append("Deelnemers: een aantal, bijvoorbeeld 8.")
        else:
            participants = int(values["participants"])
    contact_on = today
    if handoff is None:
        try:
            contact_on = date.fromisoformat(values["contact_on"])
        except ValueError:
            errors.append("Datum van het contact: die kan ik niet lezen (jjjj-mm-dd).")
        else:
            if contact_on > today:
                errors.append("Het contact kan niet in de toekomst liggen.")
            elif today - contact_on > timedelta(days=366):
                errors.append("Het contact ligt meer dan een jaar terug.")
    if errors:
        return None, errors, values
    if handoff is not None:
        new = NewRegistration(
            contact_on=contact_on,
            worker=worker.key,
            source="handoff",
            contact_type=values["contact_type"],
            outcome=values["outcome"],
            themes=tuple(values["themes"]),
            services=tuple(values["services"]),
            handoff_id=handoff.id,
            channel=handoff.channel,
            language=handoff.language,
            area=handoff.area or "",
            school=handoff.school or "",
            new_family=values["new_family"],
            follow_up_on=follow_up,
        )
    else:
        known_schools = {sid for sid, _ in schools}
        new = NewRegistration(
            contact_on=contact_on,
            worker=worker.key,
            source="direct",
            contact_type=values["contact_type"],
            outcome=values["outcome"],
            themes=tuple(values["themes"]),
            services=tuple(values["services"]),
            language=values["language"] if values["language"] in staff_texts.LANGUAGE_NAMES else "",
            area=values["area"] if values["area"] in views.AREA_LABELS else "",
            school=values["school"] if values["school"] in known_schools else "",
            new_family=values["new_family"],
            follow_up_on=follow_up,
            participants=participants,
        )
    return new, [], values
