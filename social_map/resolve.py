"""Turn a service record into what one parent sees: their language, their neighbourhood.

Used at build time (to precompute the hours per area for ranking) and at query time (to fill in
a match), so both agree on which location and which hours belong to an answer.
"""

from __future__ import annotations

from typing import Any

from social_map.schema import CITY_WIDE, DEFAULT_LANGUAGE, Record


def pick_text(texts: dict[str, str] | None, lang: str) -> tuple[str | None, str | None]:
    """The text in ``lang``, else in Dutch; with the language actually used."""
    if not texts:
        return None, None
    if lang in texts:
        return texts[lang], lang
    if DEFAULT_LANGUAGE in texts:
        return texts[DEFAULT_LANGUAGE], DEFAULT_LANGUAGE
    return None, None


def service_areas(record: Record) -> set[str]:
    """Areas the service serves or is located in (``leuven`` when city-wide)."""
    areas = set(record.get("areas") or ())
    areas.update(loc["area"] for loc in record.get("locations") or () if loc.get("area"))
    return areas


def is_local(record: Record, area: str | None) -> bool:
    return area is not None and area != CITY_WIDE and area in service_areas(record)


def best_location(record: Record, area: str | None) -> dict[str, Any] | None:
    """The location in the asked area if there is one, else the first location."""
    locations = record.get("locations") or []
    for location in locations:
        if area is not None and location.get("area") == area:
            return location
    return locations[0] if locations else None


def hours_for(record: Record, area: str | None) -> str | None:
    """Opening hours of the chosen location, else the service-wide hours."""
    location = best_location(record, area)
    if location and location.get("opening_hours"):
        return location["opening_hours"]
    return record.get("opening_hours")


def format_address(location: dict[str, Any] | None) -> str | None:
    """``"street 1, 3000 Leuven"``, or the parts that are known, or None."""
    if not location:
        return None
    town = " ".join(p for p in (location.get("postal_code"), location.get("city")) if p)
    parts = [p for p in (location.get("address_1"), town) if p]
    return ", ".join(parts) or None
