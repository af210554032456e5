"""How complete the map is, per need and per area: what editors should look up next.

A parent in Wilsele asking about homework help gets what the map has for Wilsele and for the
whole city; an entry without hours, phone or address is one the bot cannot say much about.
``wegwijs map report`` prints these counts (ended entries left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from social_map.checks import _months_ago
from social_map.schema import AREAS, CITY_WIDE, NEEDS, STALE_AFTER_MONTHS, Record


@dataclass
class Counts:
    services: int = 0
    hours: int = 0
    phone: int = 0
    address: int = 0
    recent: int = 0
    keywords: int = 0

    def add(self, record: Record, recent_after: date) -> None:
        self.services += 1
        self.hours += bool(
            record["opening_hours"] or any(loc["opening_hours"] for loc in record["locations"])
        )
        self.phone += bool(record["phones"])
        self.address += any(loc["address_1"] for loc in record["locations"])
        self.recent += bool(record["last_verified"]) and record["last_verified"] >= (
            recent_after.isoformat()
        )
        self.keywords += bool(record.get("keywords"))

    def row(self, label: str) -> str:
        return (
            f"| {label} | {self.services} | {self.hours} | {self.phone} | {self.address} | "
            f"{self.recent} | {self.keywords} |"
        )


@dataclass
class Coverage:
    by_need: dict[str, Counts] = field(default_factory=dict)
    by_area: dict[str, Counts] = field(default_factory=dict)
    need_area: dict[tuple[str, str], int] = field(default_factory=dict)
    total: Counts = field(default_factory=Counts)
    ended: int = 0


def _areas_of(record: Record) -> set[str]:
    located = {location["area"] for location in record["locations"]}
    return set(record["areas"]) | located


def coverage(services: list[Record], today: date) -> Coverage:
    recent_after = _months_ago(today, STALE_AFTER_MONTHS)
    result = Coverage(
        by_need={need: Counts() for need in NEEDS},
        by_area={area: Counts() for area in (*AREAS, CITY_WIDE)},
        need_area={(need, area): 0 for need in NEEDS for area in (*AREAS, CITY_WIDE)},
    )
    for record in services:
        if record["end_date"] and record["end_date"] < today.isoformat():
            result.ended += 1
            continue
        result.total.add(record, recent_after)
        areas = _areas_of(record)
        for need in record["needs"]:
            result.by_need[need].add(record, recent_after)
            for area in areas:
                result.need_area[(need, area)] += 1
        for area in areas:
            result.by_area[area].add(record, recent_after)
    return result


def coverage_markdown(table: Coverage, today: date) -> str:
    header = (
        "| {what} | services | with opening hours | with a phone | with an address | "
        f"checked in the last {STALE_AFTER_MONTHS} months | with keywords |\n"
        "|---|---|---|---|---|---|---|"
    )
    lines = [
        f"# Social map coverage ({today.isoformat()})",
        "",
        f"{table.total.services} services shown to parents; {table.ended} ended entries left out.",
        "",
        "## Per need",
        "",
        header.format(what="need"),
    ]
    lines += [table.by_need[need].row(need) for need in NEEDS]
    lines.append(table.total.row("**all**"))
    lines += ["", "## Per area (`leuven`: city-wide services)", "", header.format(what="area")]
    lines += [table.by_area[area].row(area) for area in (*AREAS, CITY_WIDE)]
    areas = (*AREAS, CITY_WIDE)
    lines += [
        "",
        "## Services per need and area",
        "",
        "A parent in an area gets that area's services and the city-wide ones.",
        "",
        "| need | " + " | ".join(areas) + " |",
        "|---|" + "---|" * len(areas),
    ]
    for need in NEEDS:
        counts = " | ".join(str(table.need_area[(need, area)]) for area in areas)
        lines.append(f"| {need} | {counts} |")
    return "\n".join(lines)
