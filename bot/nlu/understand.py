"""One message in, one :class:`Understanding` out: language, intent, area, age, crisis.

Order matters: the crisis safety net runs first and wins over the model, whatever the model
says or whether it answers at all. It is also the only part that may act on a single phrase:
the model's intent is read from the whole message *and* from each of its sentences
(:mod:`bot.nlu.sentences`), and the need is the one the message as a whole points to.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from bot.nlu import language as lang_mod
from bot.nlu import sentences
from bot.nlu.areas import canonical_area, find_area
from bot.nlu.client import NLUClient, NLUParse
from bot.nlu.crisis import CrisisMatch, find_crisis
from social_map.schema import NEEDS

HOW_IT_WORKS = "how_it_works"  # "how does ... work here?" (enrolment, the CLB, the OCMW ...)
CONVERSATIONAL = ("greet", "goodbye", "thanks", "human_request", "out_of_scope")
INTENTS = (*NEEDS, HOW_IT_WORKS, *CONVERSATIONAL)
SMALL_TALK = ("greet", "goodbye", "thanks")
CONFIDENCE_THRESHOLD = 0.55  # below this the bot is not sure enough to answer
# Scores combined over several sentences are spread over more intents, so a lower share
# already means "clearly this one" (chosen on nlu/eval/dev_*.yml, see docs/nlu.md).
COMBINED_THRESHOLD = 0.4
# Two needs are "close" when the second has at least this share of the first's score: the bot
# then asks which one instead of guessing (chosen on nlu/eval/dev_*.yml, see docs/nlu.md).
CLOSE_RATIO = 0.5
WHOLE_WEIGHT = 1.0  # the whole message counts as much as its most confident sentence
_AGE = re.compile(r"^\d{1,2}$")
# "6 maanden", "8 mois", "5 months", "3 شهور", "9 chhour": a baby's age is in months.
_MONTHS = re.compile(
    r"^\W*(maand\w*|mois|months?|mnths?|شهر|شهور|اشهر|أشهر|chh?ou?r|chhar|shhour|shour)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Choice:
    """What to do with a message: sound the crisis alarm, answer, ask one question, or show
    the menu. ``intents``: the one to answer, or the (two) needs to ask between."""

    kind: Literal["crisis", "answer", "ask", "menu", "degraded"]
    intents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Understanding:
    language: str
    intent: str | None  # None: the model could not be asked (degraded mode)
    confidence: float
    entities: tuple[tuple[str, str], ...]
    area: str | None
    age: int | None  # the child's age in whole years (a baby of 6 months is 0)
    crisis: CrisisMatch | None
    degraded: bool
    # The cleaned message, for ranking services by what the parent said. Kept in memory for
    # this one answer only: never logged, never stored.
    text: str = ""
    # Intents with their scores, best first: the model's own ranking for one sentence, the
    # combined and normalised one (summing to 1) for several. Without the crisis net, the
    # model's safety_crisis is not among them: only the net decides a crisis.
    alternatives: tuple[tuple[str, float], ...] = ()
    sentences: int = 1  # how many sentences were read (1: the whole message only)
    # The model put safety_crisis first although no curated pattern fired: worth a question.
    crisis_suspected: bool = False

    @property
    def threshold(self) -> float:
        return CONFIDENCE_THRESHOLD if self.sentences < 2 else COMBINED_THRESHOLD

    @property
    def is_need(self) -> bool:
        return self.intent in NEEDS

    @property
    def runner_up(self) -> str | None:
        """The second need when it is too close to the first to guess between them."""
        if not self.is_need or self.crisis is not None:
            return None
        needs = [(i, s) for i, s in self.alternatives if i in NEEDS]
        if len(needs) < 2 or needs[0][0] != self.intent:
            return None
        (_, best), (second, score) = needs[0], needs[1]
        return second if best > 0 and score >= CLOSE_RATIO * best else None

    @property
    def choice(self) -> Choice:
        """Only the crisis net sounds the alarm; the model's crisis guess is a question."""
        if self.crisis is not None:
            return Choice("crisis", ("safety_crisis",))
        if self.degraded or self.intent is None:
            return Choice("degraded")
        if self.crisis_suspected:
            other = next((i for i, _ in self.alternatives if i in NEEDS), None)
            return Choice("ask", ("safety_crisis", other) if other else ("safety_crisis",))
        scores = dict(self.alternatives)
        close = (self.intent, self.runner_up) if self.runner_up else None
        if self.intent == "out_of_scope" or self.confidence < self.threshold:
            if close and self.confidence + scores.get(close[1], 0.0) >= self.threshold:
                return Choice("ask", close)  # one of these two, the rest is unlikely
            return Choice("menu")
        if close:
            return Choice("ask", close)
        return Choice("answer", (self.intent,))


@dataclass(frozen=True)
class _Reading:
    """The model's view of one piece of the message (the whole, or one sentence)."""

    text: str
    parse: NLUParse


class Understander:
    def __init__(self, nlu: NLUClient | None) -> None:
        self.nlu = nlu

    async def understand(
        self, text: str, current_language: str | None = None, hint: str | None = None
    ) -> Understanding:
        language = lang_mod.choose(text, current_language, hint)
        crisis = find_crisis(text)
        whole, pieces = await self._read(text)
        readings = [whole, *pieces] if whole else []
        entities = tuple(
            dict.fromkeys((e.entity, e.value) for r in readings for e in r.parse.entities)
        )
        area = next((canonical_area(v) for k, v in entities if k == "area"), None)
        area = area or find_area(text)
        age = next((a for r in readings if (a := _age(r)) is not None), None)
        if whole is None:
            if crisis is not None:
                return Understanding(
                    language, "safety_crisis", 1.0, (), area, age, crisis, True, text
                )
            return Understanding(language, None, 0.0, (), area, age, None, True, text)
        ranked = combine(whole.parse, [p.parse for p in pieces])
        read = 1 + len(pieces)
        if crisis is not None:
            return Understanding(
                language,
                "safety_crisis",
                1.0,
                entities,
                area,
                age,
                crisis,
                False,
                text,
                ranked,
                read,
            )
        suspected = ranked[0][0] == "safety_crisis" and ranked[0][1] >= (
            CONFIDENCE_THRESHOLD if read < 2 else COMBINED_THRESHOLD
        )
        ranked = _without(ranked, "safety_crisis") or (("out_of_scope", 0.0),)
        intent, confidence = ranked[0]
        return Understanding(
            language,
            intent,
            confidence,
            entities,
            area,
            age,
            None,
            False,
            text,
            ranked,
            read,
            suspected,
        )

    async def _read(self, text: str) -> tuple[_Reading | None, list[_Reading]]:
        """Parse the whole message and, when it has several, each of its sentences."""
        if self.nlu is None:
            return None, []
        parts = sentences.split(text)
        if len(parts) < 2:
            parts = []
        parses = await asyncio.gather(self.nlu.parse(text), *(self.nlu.parse(p) for p in parts))
        whole = _Reading(text, parses[0]) if parses[0] is not None else None
        pieces = [_Reading(t, p) for t, p in zip(parts, parses[1:], strict=True) if p is not None]
        return whole, pieces


def combine(whole: NLUParse, pieces: list[NLUParse]) -> tuple[tuple[str, float], ...]:
    """Intents ranked by what the message as a whole points to.

    Each sentence votes with its intent distribution, weighted by how sure the model is of
    that sentence; the whole message votes too. Greetings and thanks ("Bonjour madame",
    "Merci d'avance") do not vote when the message says anything else, so a polite first
    line no longer turns a question into a greeting. A one-sentence message keeps the
    model's own ranking.
    """
    content = [p for p in pieces if p.intent not in SMALL_TALK]
    if not content:
        return whole.ranking or ((whole.intent, whole.confidence),)
    scores: dict[str, float] = defaultdict(float)
    for name, value in whole.ranking:
        if name not in SMALL_TALK:
            scores[name] += WHOLE_WEIGHT * value
    for piece in content:
        weight = piece.confidence
        for name, value in piece.ranking:
            if name not in SMALL_TALK:
                scores[name] += weight * value
    return _normalised(scores)


def _without(ranked: tuple[tuple[str, float], ...], intent: str) -> tuple[tuple[str, float], ...]:
    """The ranking without ``intent``, the other scores scaled up to the same total."""
    kept = {k: v for k, v in ranked if k != intent}
    total = sum(v for _, v in ranked) or 1.0
    return _normalised(kept, total) if kept else ()


def _normalised(scores: dict[str, float], total: float = 1.0) -> tuple[tuple[str, float], ...]:
    scale = total / (sum(scores.values()) or 1.0)
    return tuple(sorted(((k, v * scale) for k, v in scores.items()), key=lambda kv: -kv[1]))


def _age(reading: _Reading) -> int | None:
    """The child's age in years from one reading; "6 maanden" is a baby of 0."""
    for entity in reading.parse.entities:
        if entity.entity != "age" or not _AGE.match(entity.value):
            continue
        value = int(entity.value)
        after = reading.text[entity.end :] if entity.end is not None else ""
        return value // 12 if _MONTHS.match(after) else value
    return None
