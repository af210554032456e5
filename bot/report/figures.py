"""The network's figures for a period, read from the state database.

Everything here is counted from tables that hold no family: registrations (what bridge workers
registered; ``handoff_id`` is ignored), ``handoff_times`` (how long handoffs waited), and the
anonymous daily counts (``unmet_needs``, ``checkback_answers``, ``helped_counts``). What may be
shown of these numbers is decided later, by :mod:`bot.report.suppress`.

A school or area filter narrows what has a school or area: registrations, waiting times and
(area only) unmet needs. Check-back answers and "did it help" are counted without either, so
they are left out of a filtered report rather than shown for the whole city.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from bot.db import Database
from bot.handoff.registrations import school_year_start

# The rows of the network's own theme table (the reports it comes from count this way), with
# the need ids and the two extra themes each row gathers. Order as in those reports.
THEME_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Kinderopvang en vrije tijd", ("childcare", "leisure")),
    ("School (brieven, zorgcoördinator, taal, huiswerk)", ("school_questions", "homework_help")),
    ("Administratie", ("paperwork",)),
    ("Betaalbare voeding", ("food",)),
    ("Wonen", ("housing",)),
    ("Nieuwe ouders: een netwerk", ("meeting_people", "new_parents")),
    ("Materiële hulp", ("material_help",)),
    ("Werk, opleiding, Nederlands", ("work_and_dutch",)),
    ("Juridisch", ("legal",)),
    ("Geld", ("money",)),
    ("Digitaal", ("digital",)),
    ("Schoolkosten", ("school_costs",)),
    ("Opvoeding", ("parenting",)),
    ("Gezondheid", ("health",)),
    ("Crisis en veiligheid", ("safety_crisis",)),
    ("Luisterend oor", ("listening_ear",)),
)
THEME_ROW_OF = {theme: row for row, themes in THEME_ROWS for theme in themes}

# The same table for earlier school years, from the Unelma report (Heverlee, three schools),
# so this year's numbers can sit next to them. Source: ../shared/leuven-social-map-facts.md,
# "How bridge work is counted"; None: not counted that year.
REFERENCE_SOURCE = "Unelma (SAAMO), Heverlee: eindrapport, gepubliceerd 16 december 2025"
REFERENCE: dict[str, dict[str, int | None]] = {
    "Gezinnen bereikt": {"2022-2023": 40, "2023-2024": 56, "2024-2025": 63},
    "Individuele contacten": {"2022-2023": 79, "2023-2024": 187, "2024-2025": 170},
    "Groepsmomenten": {"2022-2023": 6, "2023-2024": 10, "2024-2025": 14},
    "Deelnemers aan groepsmomenten": {"2022-2023": 49, "2023-2024": 113, "2024-2025": 142},
    "Administratie": {"2022-2023": 24, "2023-2024": 23, "2024-2025": 29},
    "Kinderopvang en vrije tijd": {"2022-2023": 22, "2023-2024": 81, "2024-2025": 53},
    "School (brieven, zorgcoördinator, taal, huiswerk)": {
        "2022-2023": 12,
        "2023-2024": 54,
        "2024-2025": 26,
    },
    "Wonen": {"2022-2023": 8, "2023-2024": 16, "2024-2025": 17},
    "Nieuwe ouders: een netwerk": {"2022-2023": 15, "2023-2024": 20, "2024-2025": 2},
    "Betaalbare voeding": {"2022-2023": None, "2023-2024": 22, "2024-2025": 5},
}
# Waiting for a pick-up, in buckets a coordinator thinks in.
WAIT_BUCKETS: tuple[tuple[str, float], ...] = (
    ("minder dan 1 uur", 3600),
    ("1 tot 4 uur", 4 * 3600),
    ("4 uur tot 1 dag", 24 * 3600),
    ("1 tot 3 dagen", 3 * 24 * 3600),
    ("langer", float("inf")),
)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str

    @classmethod
    def school_year(cls, first_year: int) -> Period:
        """September ``first_year`` to August the year after."""
        return cls(
            date(first_year, 9, 1), date(first_year + 1, 8, 31), f"{first_year}-{first_year + 1}"
        )

    @classmethod
    def parse_school_year(cls, text: str) -> Period:
        """``2025-2026`` (or ``2025``): the school year that starts in September 2025."""
        first, _, second = text.strip().partition("-")
        if not first.isdigit() or len(first) != 4 or (second and second != str(int(first) + 1)):
            raise ValueError(f"a school year looks like 2025-2026, not {text!r}")
        return cls.school_year(int(first))

    @classmethod
    def containing(cls, day: date) -> Period:
        return cls.school_year(school_year_start(day).year)

    @classmethod
    def between(cls, start: date, end: date) -> Period:
        if end < start:
            raise ValueError("the end date comes before the start date")
        return cls(start, end, f"{start.isoformat()} tot {end.isoformat()}")


@dataclass(frozen=True)
class Filters:
    school: str | None = None
    area: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.school or self.area)


@dataclass
class Waits:
    """Durations in seconds: from when someone was on duty to the pick-up, and open to close."""

    to_pickup: list[int] = field(default_factory=list)
    to_close: list[int] = field(default_factory=list)
    never_picked_up: int = 0
    over_working_day: int = 0

    @property
    def count(self) -> int:
        return len(self.to_close)


@dataclass
class Figures:
    period: Period
    filters: Filters
    families: int = 0
    contacts: int = 0
    contact_types: Counter[str] = field(default_factory=Counter)
    group_moments: int = 0
    participants: int = 0
    theme_rows: Counter[str] = field(default_factory=Counter)
    by_school: Counter[str] = field(default_factory=Counter)
    by_area: Counter[str] = field(default_factory=Counter)
    by_language: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    referred_to: Counter[str] = field(default_factory=Counter)
    waits: Waits = field(default_factory=Waits)
    wait_buckets: Counter[str] = field(default_factory=Counter)
    unmet: Counter[tuple[str, str]] = field(default_factory=Counter)  # (need, area)
    checkback: Counter[tuple[str, str]] = field(default_factory=Counter)  # (service, answer)
    helped: Counter[str] = field(default_factory=Counter)
    # Themes per school year, for every school year in the database (the chart over the years).
    themes_by_year: dict[str, Counter[str]] = field(default_factory=dict)


def _between(column: str) -> str:
    return f"{column} >= ? AND {column} <= ?"


def compute(db: Database, period: Period, filters: Filters | None = None) -> Figures:
    """Count everything the report shows. One pass per table; no row leaves this function."""
    filters = filters or Filters()
    figures = Figures(period, filters)
    days = (period.start.isoformat(), period.end.isoformat())
    where, params = [_between("r.contact_on")], list(days)
    if filters.school:
        where.append("r.school = ?")
        params.append(filters.school)
    if filters.area:
        where.append("r.area = ?")
        params.append(filters.area)
    condition = " AND ".join(where)

    for kind, school, area, language, channel, outcome, new, participants in db.execute(
        "SELECT r.contact_type, r.school, r.area, r.language, r.channel, r.outcome, "
        f"r.new_family, r.participants FROM registrations r WHERE {condition}",
        params,
    ):
        figures.contacts += 1
        figures.contact_types[kind] += 1
        figures.families += int(new or 0)
        if kind == "group":
            figures.group_moments += 1
            figures.participants += int(participants or 0)
        figures.by_school[school or ""] += 1
        figures.by_area[area or ""] += 1
        figures.by_language[language or ""] += 1
        figures.by_channel[channel or ""] += 1
        figures.outcomes[outcome] += 1
    for (theme,) in db.execute(
        "SELECT t.theme FROM registration_themes t JOIN registrations r "
        f"ON r.id = t.registration_id WHERE {condition}",
        params,
    ):
        figures.theme_rows[THEME_ROW_OF.get(theme, theme)] += 1
    for (service,) in db.execute(
        "SELECT s.service_id FROM registration_services s JOIN registrations r "
        f"ON r.id = s.registration_id WHERE {condition}",
        params,
    ):
        figures.referred_to[service] += 1

    _waits(db, figures, days)
    _unmet(db, figures, days)
    if not filters.any:
        for service, answer, count in db.execute(
            "SELECT service, answer, SUM(count) FROM checkback_answers "
            f"WHERE {_between('day')} GROUP BY service, answer",
            days,
        ):
            figures.checkback[(service, answer)] = int(count)
        for answer, count in db.execute(
            f"SELECT answer, SUM(count) FROM helped_counts WHERE {_between('day')} GROUP BY answer",
            days,
        ):
            figures.helped[answer] = int(count)
    figures.themes_by_year = themes_by_year(db, filters)
    return figures


def _waits(db: Database, figures: Figures, days: tuple[str, str]) -> None:
    where, params = [_between("closed_on")], list(days)
    if figures.filters.school:
        where.append("school = ?")
        params.append(figures.filters.school)
    if figures.filters.area:
        where.append("area = ?")
        params.append(figures.filters.area)
    waits = figures.waits
    for to_pickup, to_close, over in db.execute(
        "SELECT to_pickup_s, to_close_s, over_working_day FROM handoff_times "
        f"WHERE {' AND '.join(where)}",
        params,
    ):
        waits.to_close.append(int(to_close))
        waits.over_working_day += int(over)
        if to_pickup is None:
            waits.never_picked_up += 1
            continue
        waits.to_pickup.append(int(to_pickup))
        bucket = next(label for label, limit in WAIT_BUCKETS if to_pickup < limit)
        figures.wait_buckets[bucket] += 1


def _unmet(db: Database, figures: Figures, days: tuple[str, str]) -> None:
    if figures.filters.school:
        return  # unmet needs are counted per area, never per school
    where, params = [_between("day")], list(days)
    if figures.filters.area:
        where.append("area = ?")
        params.append(figures.filters.area)
    for need, area, count in db.execute(
        f"SELECT need, area, SUM(count) FROM unmet_needs WHERE {' AND '.join(where)} "
        "GROUP BY need, area",
        params,
    ):
        figures.unmet[(need, area or "")] = int(count)


def themes_by_year(db: Database, filters: Filters) -> dict[str, Counter[str]]:
    """Registered themes per school year (September to August), over all the years kept."""
    where, params = ["1 = 1"], []
    if filters.school:
        where.append("r.school = ?")
        params.append(filters.school)
    if filters.area:
        where.append("r.area = ?")
        params.append(filters.area)
    years: dict[str, Counter[str]] = defaultdict(Counter)
    for contact_on, theme, count in db.execute(
        "SELECT substr(r.contact_on, 1, 7), t.theme, COUNT(*) FROM registration_themes t "
        f"JOIN registrations r ON r.id = t.registration_id WHERE {' AND '.join(where)} "
        "GROUP BY 1, 2",
        params,
    ):
        first = date.fromisoformat(contact_on + "-01")
        label = Period.containing(first).label
        years[label][THEME_ROW_OF.get(theme, theme)] += int(count)
    return dict(sorted(years.items()))


def median_and_p90(values: list[int]) -> tuple[float, float] | None:
    """Median and 90th percentile (seconds), or None for fewer than five values: with so few,
    a percentile is one family's waiting time."""
    if len(values) < 5:
        return None
    ordered = sorted(values)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[-1]
    return statistics.median(ordered), p90


def hours(seconds: float) -> str:
    """``5400`` -> ``1,5 u``; days from two days on."""
    if seconds >= 48 * 3600:
        return f"{seconds / 86400:.1f} d".replace(".", ",")
    return f"{seconds / 3600:.1f} u".replace(".", ",")
