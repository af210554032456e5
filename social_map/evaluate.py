"""Measure the ranking on the relevance sets (``tests/data/relevance/``): p@1 and hit@3.

Two ways, both reported:

- **given the need**: the labelled need, area and age go straight to the map's ranked find,
  with the message's words: how good the map and the ranking are on their own;
- **end to end**: the message goes through the real engine and the real Rasa NLU (area
  known, as after an earlier message): what a parent really gets, NLU mistakes included. A
  question the bot answers with crisis numbers or the menu has no services, so it counts as a
  miss; non-crisis questions taken for a crisis are counted as false alarms.

p@1: the first service shown is one that truly helps. hit@3: one of the first three is.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ruamel.yaml import YAML

from social_map.hours import BRUSSELS
from social_map.ranking import Query
from social_map.store import SocialMap

DEFAULT_AT = datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)
"""A Tuesday in term time, 10:00: the moment of a question that gives none."""
LANGUAGE_ORDER = ("nl", "fr", "en", "ar", "ar-latn")
BEGIN, END = "<!-- map-eval:begin -->", "<!-- map-eval:end -->"


@dataclass(frozen=True)
class Item:
    text: str
    lang: str
    need: str
    area: str | None
    relevant: tuple[str, ...]
    age: int | None = None
    at: datetime = DEFAULT_AT

    @property
    def bot_language(self) -> str:
        """Darija in Latin letters is answered in Arabic."""
        return "ar" if self.lang == "ar-latn" else self.lang


def load_items(path: Path) -> list[Item]:
    data = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8")) or []
    items = []
    for entry in data:
        at = entry.get("at")
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        if isinstance(at, datetime) and at.tzinfo is None:
            at = at.replace(tzinfo=BRUSSELS)
        items.append(
            Item(
                text=str(entry["text"]),
                lang=str(entry["lang"]),
                need=str(entry["need"]),
                area=entry.get("area"),
                relevant=tuple(entry["relevant"]),
                age=entry.get("age"),
                at=at or DEFAULT_AT,
            )
        )
    return items


@dataclass
class Score:
    n: int = 0
    p1: int = 0
    hit3: int = 0

    def add(self, ranked: list[str], relevant: Iterable[str]) -> None:
        wanted = set(relevant)
        self.n += 1
        self.p1 += bool(ranked[:1] and ranked[0] in wanted)
        self.hit3 += bool(wanted & set(ranked[:3]))

    def cells(self) -> str:
        if not self.n:
            return "- | - | 0"
        return f"{100 * self.p1 / self.n:.1f}% | {100 * self.hit3 / self.n:.1f}% | {self.n}"


@dataclass
class Report:
    title: str
    overall: Score = field(default_factory=Score)
    by_language: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    by_need: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    misses: list[tuple[Item, list[str]]] = field(default_factory=list)
    need_right: int = 0
    recognised: Score = field(default_factory=Score)
    """End to end: the questions whose need the NLU got right (the map's share of the result)."""
    false_alarms: int = 0
    non_crisis: int = 0

    def add(self, item: Item, ranked: list[str]) -> None:
        self.overall.add(ranked, item.relevant)
        self.by_language[item.lang].add(ranked, item.relevant)
        self.by_need[item.need].add(ranked, item.relevant)
        if not ranked or ranked[0] not in item.relevant:
            self.misses.append((item, ranked))

    def markdown(self) -> str:
        lines = [
            f"### {self.title}",
            "",
            f"**p@1 {self.overall.cells().split(' | ')[0]}, hit@3 "
            f"{self.overall.cells().split(' | ')[1]}** over {self.overall.n} questions.",
            "",
        ]
        if self.non_crisis:
            lines += [
                f"Need recognised: {self.need_right} of {self.overall.n}; on those, p@1 "
                f"{self.recognised.cells().split(' | ')[0]} and hit@3 "
                f"{self.recognised.cells().split(' | ')[1]}. Crisis false alarms: "
                f"{self.false_alarms} of {self.non_crisis} non-crisis questions "
                f"({100 * self.false_alarms / self.non_crisis:.1f}%). A crisis question is answered "
                "with the emergency numbers, not services, so it counts as a miss here.",
                "",
            ]
        lines += ["| language | p@1 | hit@3 | questions |", "|---|---|---|---|"]
        for lang in sorted(self.by_language, key=_language_order):
            lines.append(f"| {lang} | {self.by_language[lang].cells()} |")
        lines += ["", "| need | p@1 | hit@3 | questions |", "|---|---|---|---|"]
        for need in sorted(self.by_need):
            lines.append(f"| {need} | {self.by_need[need].cells()} |")
        return "\n".join(lines)


def _language_order(lang: str) -> int:
    return LANGUAGE_ORDER.index(lang) if lang in LANGUAGE_ORDER else len(LANGUAGE_ORDER)


def rank_given_need(social_map: SocialMap, item: Item, limit: int = 3) -> list[str]:
    query = Query.from_message(item.text, item.age)
    matches = social_map.find(item.need, item.area, item.bot_language, item.at, limit, query=query)
    return [match.id for match in matches]


def evaluate_given_need(social_map: SocialMap, items: list[Item], title: str) -> Report:
    report = Report(title)
    for item in items:
        report.add(item, rank_given_need(social_map, item))
    return report


async def evaluate_end_to_end(map_db: Path, nlu_url: str, items: list[Item], title: str) -> Report:
    """Every question through the real engine (real Rasa), one fresh chat each."""
    from bot.conversation.engine import Engine
    from bot.conversation.map_provider import MapProvider
    from bot.conversation.messages import Incoming
    from bot.conversation.state import ChatState, StateStore
    from bot.nlu.client import NLUClient
    from bot.nlu.understand import Understander

    report = Report(title)
    client = NLUClient(nlu_url, timeout=10.0)
    maps = MapProvider(map_db)
    moment: list[datetime] = [DEFAULT_AT]
    clock: Callable[[], datetime] = lambda: moment[0]  # noqa: E731 - the injected clock
    state = StateStore(":memory:", clock=clock)  # the store owns the one clock
    engine = Engine(maps, Understander(client), state)
    try:
        for number, item in enumerate(items):
            moment[0] = item.at
            chat = f"eval-{number}"
            state.save(
                ChatState(
                    f"eval:{chat}",
                    language=item.bot_language,
                    area=item.area,
                    area_asked=True,
                    greeted=True,
                )
            )
            outcome = await engine.handle(
                Incoming(chat, item.text, channel="eval", language_hint=item.bot_language)
            )
            report.add(item, list(outcome.services))
            report.need_right += outcome.intent == item.need
            if outcome.intent == item.need:
                report.recognised.add(list(outcome.services), item.relevant)
            if item.need != "safety_crisis":
                report.non_crisis += 1
                report.false_alarms += outcome.intent == "safety_crisis"
    finally:
        await client.aclose()
        maps.close()
        state.close()
    return report


def run_end_to_end(map_db: Path, nlu_url: str, items: list[Item], title: str) -> Report:
    return asyncio.run(evaluate_end_to_end(map_db, nlu_url, items, title))


def misses_markdown(report: Report, limit: int = 40) -> str:
    """The questions whose first service was wrong (for the tuning set only: see README)."""
    lines = [f"#### Misses: {report.title}", ""]
    for item, ranked in report.misses[:limit]:
        lines.append(
            f"- [{item.lang}/{item.need}] {item.text[:90]} -> {', '.join(ranked) or '(none)'} "
            f"(wanted {', '.join(item.relevant)})"
        )
    return "\n".join(lines)


def update_doc(doc: Path, body: str) -> None:
    """Replace the generated block of ``doc`` (between the markers), keeping the rest."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    block = f"{BEGIN}\n{body.rstrip()}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = (text.rstrip() + "\n\n" if text else "") + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
