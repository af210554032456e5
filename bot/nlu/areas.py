"""Find the Leuven area a parent mentions, as a fallback for Rasa's entity extraction.

Rasa's lookup table needs whole words, but Arabic glues prepositions to names ("فهيفرلي",
"in Heverlee") and parents write "3001" or "kessello". This matcher reads the same synonym
list as the Rasa model (``nlu/data/areas.yml``), so a spelling is added in one place.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ruamel.yaml import YAML

from bot.nlu.crisis import normalize
from bot.paths import NLU_PROJECT

AREAS_FILE = NLU_PROJECT / "data" / "areas.yml"
AREA_IDS = ("leuven-centrum", "heverlee", "kessel-lo", "wilsele", "wijgmaal")
# Arabic prepositions and the article written onto the next word: في ف ب ل و ال.
_AR_PREFIX = r"(?:(?:و|ف|ب|ل)?(?:ال)?|في ?)"


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    items: list[dict[str, object]] = (
        YAML(typ="safe").load(AREAS_FILE.read_text(encoding="utf-8")).get("nlu") or []
    )
    variants: list[tuple[str, str]] = []
    for item in items:
        if "synonym" in item and item["synonym"] in AREA_IDS:
            for line in str(item["examples"]).splitlines():
                word = normalize(line.strip().lstrip("-").strip())
                if word:
                    variants.append((item["synonym"], word))
    variants.sort(key=lambda v: len(v[1]), reverse=True)  # "kessel-lo" before "kessel"
    compiled = []
    for area, word in variants:
        body = re.escape(word).replace(r"\-", "[- ]?").replace(r"\ ", "[- ]?")
        prefix = _AR_PREFIX if re.match(r"[\u0600-\u06ff]", word) else ""
        compiled.append((area, re.compile(rf"(?<![\w]){prefix}{body}(?![\w])")))
    return tuple(compiled)


def find_area(text: str) -> str | None:
    """The area id named in ``text``; a neighbourhood wins over a bare "Leuven"."""
    folded = normalize(text[:5000])
    found = [area for area, pattern in _patterns() if pattern.search(folded)]
    specific = [a for a in found if a != "leuven-centrum"]
    if specific:
        return specific[0]
    return found[0] if found else None


def canonical_area(value: str | None) -> str | None:
    """Map an entity value or free text (``"Kessel Lo"``, ``"3010"``) to an area id."""
    if not value:
        return None
    if value in AREA_IDS:
        return value
    return find_area(value)
