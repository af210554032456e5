"""Invented figures, to show what the report looks like (docs/figures.md) and to measure it.

Nothing here is real: registrations by the invented workers of the sample workers file,
spread over school years with the rough shape of the network's own numbers (many childcare,
school and paperwork questions, fewer legal or digital ones), plus waiting times, unmet
needs, check-back answers and a few signals. A fixed seed gives the same data every time.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from bot.clock import BRUSSELS, utc_iso
from bot.conversation.state import StateStore
from bot.report.signals import Signals

WORKERS = ("samira", "jonas", "nadia")
SCHOOLS = ("vbs-heilig-hart-heverlee", "basisschool-sint-norbertus", "don-bosco-sint-lambertus", "")
AREAS = ("heverlee", "kessel-lo", "leuven-centrum", "wilsele", "wijgmaal")
THEME_WEIGHTS = {
    "childcare": 18, "leisure": 14, "school_questions": 16, "homework_help": 8, "paperwork": 16,
    "food": 6, "housing": 9, "meeting_people": 4, "new_parents": 3, "material_help": 4,
    "work_and_dutch": 4, "legal": 3, "money": 3, "digital": 2, "school_costs": 5,
    "parenting": 3, "health": 3, "listening_ear": 6, "safety_crisis": 1,
}  # fmt: skip
CONTACT_WEIGHTS = {"walk_in": 30, "chat": 25, "phone": 25, "home_visit": 8, "group": 6}
OUTCOMES = ("answered", "referred", "follow_up", "no_reaction")
SERVICES = (
    "ocmw-leuven", "caw-oost-brabant", "huis-van-het-kind-leuven", "kirikou", "solikoop",
    "het-perron", "uitpas-leuven", "huurdersbond-vlaams-brabant", "clb-leuven", "lampeke",
    "kinderkuren", "iedereen-digitaal-leuven", "de-nomade", "bib-leuven",
)  # fmt: skip
UNMET = ("legal", "digital", "homework_help", "housing", "childcare")


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def fill(state: StateStore, first_years: tuple[int, ...], per_year: int, seed: int = 7) -> int:
    """Invent ``per_year`` registrations for each school year starting in ``first_years``.
    Returns how many registrations were written."""
    rng = random.Random(seed)
    db, lock = state.connection
    written = 0
    with lock, db.transaction():
        for n, first in enumerate(first_years):
            grow = 0.6 + 0.25 * n  # the network reaches more families every year
            count = int(per_year * grow)
            start = date(first, 9, 1)
            registrations, themes, services = [], [], []
            next_id = int(
                db.execute("SELECT COALESCE(MAX(id), 0) FROM registrations").fetchone()[0]
            )
            for _ in range(count):
                next_id += 1
                day = start + timedelta(days=rng.randrange(0, 300))
                kind = _pick(rng, CONTACT_WEIGHTS)
                school = rng.choice(SCHOOLS)
                area = "heverlee" if school.endswith("heverlee") else rng.choice(AREAS)
                channel = rng.choice(("telegram", "whatsapp")) if kind == "chat" else ""
                registrations.append(
                    (
                        next_id,
                        utc_iso(datetime(day.year, day.month, day.day, 12, tzinfo=BRUSSELS)),
                        day.isoformat(),
                        rng.choice(WORKERS),
                        "handoff" if kind == "chat" else "direct",
                        kind,
                        channel,
                        rng.choice(("nl", "ar", "ar", "fr", "en", "")),
                        area,
                        school,
                        rng.choice(OUTCOMES),
                        int(rng.random() < 0.35),
                        rng.randrange(4, 16) if kind == "group" else None,
                    )
                )
                for theme in {_pick(rng, THEME_WEIGHTS) for _ in range(rng.choice((1, 1, 2)))}:
                    themes.append((next_id, theme))
                if rng.random() < 0.5:
                    services.append((next_id, rng.choice(SERVICES)))
            db.executemany(
                "INSERT INTO registrations (id, created_at, contact_on, worker, source, "
                "contact_type, channel, language, area, school, outcome, new_family, "
                "participants) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                registrations,
            )
            db.executemany(
                "INSERT INTO registration_themes (registration_id, theme) VALUES (?, ?)", themes
            )
            db.executemany(
                "INSERT INTO registration_services (registration_id, service_id) VALUES (?, ?)",
                services,
            )
            written += len(registrations)
            times = []
            for _ in range(max(5, count // 4)):
                day = start + timedelta(days=rng.randrange(0, 300))
                pickup = int(rng.lognormvariate(8.5, 1.3)) if rng.random() < 0.95 else None
                times.append(
                    (
                        day.isoformat(),
                        rng.choice(SCHOOLS),
                        rng.choice(AREAS),
                        rng.choice(("nl", "ar", "fr", "en")),
                        rng.choice(("telegram", "whatsapp")),
                        int(rng.random() < 0.05),
                        pickup,
                        (pickup or 0) + int(rng.lognormvariate(11, 1)),
                        int((pickup or 10**6) > 8 * 3600),
                    )
                )
            db.executemany(
                "INSERT INTO handoff_times (closed_on, school, area, language, channel, urgent, "
                "to_pickup_s, to_close_s, over_working_day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                times,
            )
            for need in UNMET:
                for area in AREAS:
                    if rng.random() < 0.85:
                        day = (start + timedelta(days=rng.randrange(0, 300))).isoformat()
                        db.execute(
                            "INSERT INTO unmet_needs (day, need, area, language, count) "
                            "VALUES (?, ?, ?, 'nl', ?) ON CONFLICT (day, need, area, language) "
                            "DO UPDATE SET count = unmet_needs.count + excluded.count",
                            (day, need, area, rng.randrange(2, 25)),
                        )
            for service in SERVICES[:8]:
                for answer in ("reached", "not_yet", "person"):
                    day = (start + timedelta(days=rng.randrange(0, 300))).isoformat()
                    db.execute(
                        "INSERT INTO checkback_answers (day, service, answer, count) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (day, service, answer) DO UPDATE SET "
                        "count = checkback_answers.count + excluded.count",
                        (day, service, answer, rng.randrange(0, 14)),
                    )
            for answer, weight in (("yes", 40), ("no", 9)):
                day = (start + timedelta(days=100)).isoformat()
                db.execute(
                    "INSERT INTO helped_counts (day, answer, count) VALUES (?, ?, ?) "
                    "ON CONFLICT (day, answer) DO UPDATE SET "
                    "count = helped_counts.count + excluded.count",
                    (day, answer, int(weight * grow)),
                )
    signals = Signals(state)
    if not signals.list():
        first = signals.add(
            "nadia", "Geen huiswerkbegeleiding in Wilsele na 16 uur", "homework_help",
            "wilsele", "2024-09", "12",
        )  # fmt: skip
        signals.move(first, "nadia", "working_group", "Besproken op de werkgroep van maart.")
        signals.add(
            "samira", "Wachtlijst sociale woningen: vochtige woningen blijven onhersteld",
            "housing", "heverlee", "2025-01", "8",
        )  # fmt: skip
    return written
