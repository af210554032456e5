"""Recognise the child's school when a parent names it ("mijn zoon zit in Heilig Hart").

The school decides which bridge worker answers first, because schools have their own. Only the
distinctive words of a school's name count (not "basisschool", "vrije", the area), and two of
them must appear when the name has two or more: "hart" alone is just a heart.
"""

from __future__ import annotations

from social_map.schema import AREAS
from social_map.text import search_tokens

_GENERIC = {
    "vrije", "basisschool", "school", "vbs", "gbs", "sbs", "gemeentelijke", "stedelijke",
    "lagere", "kleuterschool", "primary", "ecole", "primaire", "sint", "st", "de", "het",
    "van", "en", "leuven", "kessel", "lo",
}  # fmt: skip


class SchoolFinder:
    def __init__(self, schools: list[tuple[str, str]]) -> None:
        generic = _GENERIC | {t for area in AREAS for t in search_tokens(area)}
        self._schools = []
        for school_id, name in schools:
            tokens = {t for t in search_tokens(name) if t not in generic and len(t) >= 3}
            if tokens:
                self._schools.append((school_id, tokens))

    def find(self, text: str) -> str | None:
        words = set(search_tokens(text))
        for school_id, tokens in self._schools:
            if len(tokens & words) >= min(2, len(tokens)):
                return school_id
        return None
