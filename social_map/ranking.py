"""Rank the services of one need by what the parent said: words, the child's age, the time.

The map build turns every service's ``keywords`` (weight 3), name (1.5) and description
(0.5) into *keys* (see :mod:`social_map.terms`), each weighted by how rare it is in the map
(an inverse document frequency, like bm25 without length normalisation: editors' keyword
lists are short and a service should not win by listing more words). A message scores, per
service, the best match of each of its words, summed over its words.

The final order within a need (see :func:`score`) adds to that text score:

- the area: a service in or serving the parent's area before a city-wide one before one
  elsewhere (so without a message the order is the old "nearest first");
- the main need: a service whose first need this is goes first among equals;
- the child's age against ``minimum_age``/``maximum_age``: a service for other ages sinks;
- schools sink unless the message names them: a parent asking about school needs the CLB or
  the bridge worker, not a list of schools;
- the time: outside office hours, for a health or crisis question or a message that says it
  is urgent, services open now go first.

Weights were tuned on ``tests/data/relevance/dev.yml`` only; ``test.yml`` measures them.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from social_map.schema import Record
from social_map.terms import index_keys, words

FIELD_WEIGHTS = {"keywords": 3.0, "name": 1.5, "description": 0.5}
AREA_BONUS = {0: 2.5, 1: 1.0, 2: -3.0}
"""Tier 0: in or serving the asked area; 1: city-wide; 2: only elsewhere in Leuven. Without
an asked area, tier 2 counts 0: a service in some neighbourhood may well be the parent's."""
MAIN_NEED_BONUS = 0.5
AGE_FIT_BONUS = 0.5
AGE_MISFIT = -8.0
SCHOOL_PENALTY = -3.0
OPEN_BONUS = 6.0
EXPLAIN_THRESHOLD = 5.0
"""An explainer is offered for a message only from this text score on (about one rare
keyword, or two common ones)."""

OFFICE_HOURS = "Mo-Fr 09:00-17:00; PH off"
"""When most regular services are open; outside it, open services go first where time
matters."""
TIME_CRITICAL_NEEDS = frozenset({"health", "safety_crisis"})

_URGENT = re.compile(
    r"\b(dringend|spoed|nu meteen|vannacht|vanavond|'s nachts|urgent|urgence|maintenant|"
    r"ce soir|cette nuit|tout de suite|tonight|right now|emergency|asap|immediately|daba|"
    r"db|lyouma|had lil|fhad lil)\b|مستعجل|ضروري|دابا|الليلة|هاد الليل|فهاد الليل",
    re.IGNORECASE,
)
_MONTHS = re.compile(
    r"(\d{1,2})\s*(?:maand|maanden|mnd|months?|mois|semaines?|weken|weeks?|شهر|شهور|أشهر|"
    r"اشهر|أسابيع|chhar|chhor|ch'hor|shhar|shhour|simana)",
    re.IGNORECASE,
)
_YEARS = re.compile(
    r"(\d{1,2})\s*(?:jaar|jarige|ans?|years?|yrs?|year-old|yo|عام|عامين|سنة|سنين|سنوات|"
    r"3am|snin|sna|3amin)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Query:
    """What a parent said that matters for ranking, without the message itself.

    ``words`` are the topic words of the message (normalised); :meth:`SocialMap.topic`
    keeps only those the map knows, so what is stored while the bot asks for the area is
    map vocabulary, not the parent's sentence.
    """

    words: tuple[str, ...] = ()
    age: int | None = None
    urgent: bool = False

    @classmethod
    def from_message(cls, text: str, age: int | None = None) -> Query:
        return cls(tuple(words(text)), child_age(text, age), bool(_URGENT.search(text[:5000])))

    def dump(self) -> str:
        """A short string for the chat state: ``age=1;urgent=0;words=schimmel vocht``."""
        age = "" if self.age is None else str(self.age)
        return f"age={age};urgent={int(self.urgent)};words={' '.join(self.words)}"

    @classmethod
    def load(cls, text: str | None) -> Query | None:
        if not text:
            return None
        parts = dict(part.split("=", 1) for part in text.split(";") if "=" in part)
        age = parts.get("age", "")
        return cls(
            tuple(parts.get("words", "").split()),
            int(age) if age.isdigit() else None,
            parts.get("urgent") == "1",
        )


def child_age(text: str, entity_age: int | None = None) -> int | None:
    """The child's age in years. "a baby of 6 months" is 0, whatever the NLU made of the 6."""
    text = text[:5000]
    if months := _MONTHS.search(text):
        return int(months.group(1)) // 12
    if entity_age is not None:
        return entity_age
    if years := _YEARS.search(text):
        return int(years.group(1))
    return None


def is_urgent(text: str) -> bool:
    return bool(_URGENT.search(text[:5000]))


# --- build ------------------------------------------------------------------------------------


def _record_keys(record: Record, text_field: str) -> dict[str, tuple[float, str | None]]:
    """key -> (field weight, label) for one record; the best field wins."""
    best: dict[str, tuple[float, str | None]] = {}

    def add(text: str, weight: float, label: str | None, arabizi: bool) -> None:
        for key in index_keys(text, arabizi=arabizi):
            if key not in best or best[key][0] < weight:
                best[key] = (weight, label)

    for lang, items in record.get("keywords", {}).items():
        for keyword in items:
            arabizi = lang == "ar" and not re.search(r"[\u0600-\u06ff]", keyword)
            add(keyword, FIELD_WEIGHTS["keywords"], keyword, arabizi)
    for text in record.get("name", record.get("title", {})).values():
        add(text, FIELD_WEIGHTS["name"], None, False)
    for text in record.get(text_field, {}).values():
        add(text, FIELD_WEIGHTS["description"], None, False)
    return best


def build_terms(
    services: list[Record], explainers: list[Record]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The rows of the ``terms`` and ``explainer_terms`` tables."""
    service_keys = {record["id"]: _record_keys(record, "description") for record in services}
    explainer_keys = {record["id"]: _record_keys(record, "text") for record in explainers}
    frequency: Counter[str] = Counter()
    for keys in (*service_keys.values(), *explainer_keys.values()):
        frequency.update(keys.keys())
    documents = max(1, len(service_keys) + len(explainer_keys))

    def weight(key: str, field_weight: float) -> float:
        return round(field_weight * math.log(1 + documents / frequency[key]), 4)

    term_rows: list[dict[str, object]] = []
    for record in services:
        for key, (field_weight, label) in service_keys[record["id"]].items():
            for need in record["needs"]:
                term_rows.append(
                    {
                        "need": need,
                        "key": key,
                        "service_id": record["id"],
                        "weight": weight(key, field_weight),
                        "label": label,
                        "end_date": record["end_date"],
                    }
                )
    explainer_rows = [
        {
            "key": key,
            "explainer_id": explainer_id,
            "weight": weight(key, field_weight),
            "label": label,
        }
        for explainer_id, keys in explainer_keys.items()
        for key, (field_weight, label) in keys.items()
    ]
    return term_rows, explainer_rows


# --- query ------------------------------------------------------------------------------------


@dataclass
class TextMatch:
    """How well one service (or explainer) matches a message, and on which keywords."""

    score: float = 0.0
    labels: list[str] = field(default_factory=list)


def text_matches(
    rows: Iterable[tuple[str, str, float, str | None]],
    key_words: dict[str, list[tuple[str, float]]],
) -> dict[str, TextMatch]:
    """Sum per service the best match of each message word. ``rows``: (id, key, weight, label)."""
    best: dict[str, dict[str, tuple[float, str | None]]] = defaultdict(dict)
    for item_id, key, weight, label in rows:
        for word, factor in key_words.get(key, ()):
            value = weight * factor
            current = best[item_id].get(word)
            if current is None or current[0] < value:
                best[item_id][word] = (value, label)
    result: dict[str, TextMatch] = {}
    for item_id, per_word in best.items():
        match = TextMatch()
        for value, label in per_word.values():
            match.score += value
            if label and label not in match.labels:
                match.labels.append(label)
        result[item_id] = match
    return result


def score(
    *,
    text: float,
    tier: int,
    secondary: bool,
    age: int | None,
    minimum_age: int | None,
    maximum_age: int | None,
    is_school: bool,
    area_known: bool = True,
    open_now: bool | None,
    boost_open: bool,
    any_text: bool,
) -> tuple[float, bool | None]:
    """The ranking score of one candidate, and whether the child's age fits (None: unknown)."""
    area = AREA_BONUS[tier] if area_known or tier < 2 else 0.0
    value = text + area + (0.0 if secondary else MAIN_NEED_BONUS)
    age_fit: bool | None = None
    if age is not None and (minimum_age is not None or maximum_age is not None):
        age_fit = (minimum_age is None or age >= minimum_age) and (
            maximum_age is None or age <= maximum_age
        )
        value += AGE_FIT_BONUS if age_fit else AGE_MISFIT
    if is_school and text <= 0:
        value += SCHOOL_PENALTY
    if boost_open and open_now and (text > 0 or not any_text):
        value += OPEN_BONUS
    return value, age_fit
