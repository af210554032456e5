"""One message in, one :class:`Understanding` out: language, intent, area, age, crisis.

Order matters: the crisis safety net runs first and wins over the model, whatever the model
says or whether it answers at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu import language as lang_mod
from bot.nlu.areas import canonical_area, find_area
from bot.nlu.client import NLUClient, NLUParse
from bot.nlu.crisis import CrisisMatch, find_crisis
from social_map.schema import NEEDS

CONVERSATIONAL = ("greet", "goodbye", "thanks", "human_request", "out_of_scope")
_AGE = re.compile(r"^\d{1,2}$")


@dataclass(frozen=True)
class Understanding:
    language: str
    intent: str | None  # None: the model could not be asked (degraded mode)
    confidence: float
    entities: tuple[tuple[str, str], ...]
    area: str | None
    age: int | None
    crisis: CrisisMatch | None
    degraded: bool

    @property
    def is_need(self) -> bool:
        return self.intent in NEEDS


class Understander:
    def __init__(self, nlu: NLUClient | None) -> None:
        self.nlu = nlu

    async def understand(
        self, text: str, current_language: str | None = None, hint: str | None = None
    ) -> Understanding:
        language = lang_mod.choose(text, current_language, hint)
        crisis = find_crisis(text)
        parse: NLUParse | None = await self.nlu.parse(text) if self.nlu else None
        entities = tuple((e.entity, e.value) for e in parse.entities) if parse else ()
        area = next((canonical_area(v) for k, v in entities if k == "area"), None)
        area = area or find_area(text)
        age = next((int(v) for k, v in entities if k == "age" and _AGE.match(v)), None)
        if crisis is not None:
            return Understanding(
                language, "safety_crisis", 1.0, entities, area, age, crisis, degraded=parse is None
            )
        if parse is None:
            return Understanding(language, None, 0.0, (), area, age, None, degraded=True)
        return Understanding(
            language, parse.intent, parse.confidence, entities, area, age, None, degraded=False
        )
