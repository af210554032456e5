"""Score the bot on the long, real messages of ``nlu/eval/`` (never trained on).

Reports what issue 15 asks for: intent accuracy per language and per message length, what the
bot then does (answers, asks which of two needs, shows the menu), the crisis net's recall and
false alarms, and whether the child's age is read. "Model alone" is the model's intent for the
whole message plus the crisis net: how the bot read messages before sentences were combined.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.nlu import evalset
from bot.nlu.client import NLUClient
from bot.nlu.crisis import find_crisis
from bot.nlu.evaluate import CRISIS_DIR, load_test_split, write_doc
from bot.nlu.understand import Understander

BEGIN, END = "<!-- nlu-long:begin -->", "<!-- nlu-long:end -->"
LANGS = ("nl", "fr", "en", "ar")
BUCKET_NAMES = {"short": "1 sentence", "medium": "2 sentences", "long": "3+ sentences"}


@dataclass(frozen=True)
class Scored:
    message: evalset.EvalMessage
    model: str  # the model's intent for the whole message, crisis net on top
    intent: str  # the bot's intent (sentences combined, crisis net on top)
    kind: str  # crisis, answer, ask, menu, degraded
    options: tuple[str, ...]
    age: int | None

    @property
    def right(self) -> bool:
        return self.intent == self.message.intent

    @property
    def outcome(self) -> str:
        gold = self.message.intent
        if self.kind == "crisis":
            return "right" if gold == "safety_crisis" else "false alarm"
        if self.kind == "ask":
            return "asked, right one offered" if gold in self.options else "asked, wrong pair"
        if self.kind in ("menu", "degraded"):
            return "menu"
        return "right" if self.intent == gold else "wrong"


@dataclass
class LongReport:
    scored: list[Scored]
    latencies_ms: list[float]
    other_negatives: dict[str, tuple[int, int]] = field(default_factory=dict)  # name: (alarms, n)

    def subset(self, language: str | None = None, bucket: str | None = None) -> list[Scored]:
        return [
            s
            for s in self.scored
            if (language is None or s.message.language == language)
            and (bucket is None or s.message.bucket == bucket)
        ]


def accuracy(items: list[Scored], model: bool = False) -> float:
    if not items:
        return 0.0
    return sum((s.model if model else s.intent) == s.message.intent for s in items) / len(items)


async def evaluate(
    url: str, kind: str = "intents", languages: tuple[str, ...] | None = None
) -> LongReport:
    client = NLUClient(url, timeout=30.0)
    understander = Understander(client)
    scored, latencies = [], []
    try:
        for message in evalset.load(kind=kind, languages=languages):
            parse = await client.parse(message.text)
            net = find_crisis(message.text) is not None
            model = "safety_crisis" if net else (parse.intent if parse else "none")
            started = time.perf_counter()
            u = await understander.understand(message.text, message.language)
            latencies.append((time.perf_counter() - started) * 1000)
            choice = u.choice
            scored.append(
                Scored(message, model, u.intent or "none", choice.kind, choice.intents, u.age)
            )
        others = {} if kind != "intents" else _other_negatives(languages)
    finally:
        await client.aclose()
    return LongReport(scored, latencies, others)


def _other_negatives(languages: tuple[str, ...] | None) -> dict[str, tuple[int, int]]:
    """The crisis net on every other non-crisis message we keep (it needs no model)."""
    curated, split = [0, 0], [0, 0]
    for path in sorted(CRISIS_DIR.glob("*_not_crisis.txt")):
        if languages and path.name.split("_")[0] not in languages:
            continue
        for text in path.read_text(encoding="utf-8").splitlines():
            if text.strip():
                curated[0] += find_crisis(text) is not None
                curated[1] += 1
    for lang, examples in load_test_split().items():
        if languages and lang not in languages:
            continue
        for gold, text in examples:
            if gold != "safety_crisis":
                split[0] += find_crisis(text) is not None
                split[1] += 1
    return {
        "hard negatives `tests/data/crisis/*_not_crisis.txt`": (curated[0], curated[1]),
        "test split, non-crisis": (split[0], split[1]),
    }


def _pct(items: list[Scored], model: bool = False) -> str:
    return f"{accuracy(items, model):.1%} ({len(items)})" if items else "-"


def to_markdown(report: LongReport, model_name: str, check: LongReport | None = None) -> str:
    r = report
    lines = [
        BEGIN,
        f"Model `{model_name}`, evaluation set `nlu/eval/intents_*.yml` ({len(r.scored)} "
        "messages written for this, never trained on), measured by `wegwijs nlu eval`.",
        "",
        "Intent accuracy (the bot: sentences combined, crisis net on top), and in brackets "
        "the number of messages:",
        "",
        "| language | 1 sentence | 2 sentences | 3+ sentences | all | model alone, whole "
        "message: 1 sentence | 3+ sentences |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang in [*LANGS, None]:
        name = lang or "**all**"
        row = [_pct(r.subset(lang, b)) for b in BUCKET_NAMES]
        row.append(_pct(r.subset(lang)))
        row += [_pct(r.subset(lang, "short"), model=True), _pct(r.subset(lang, "long"), True)]
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    if check is not None and check.scored:
        per_lang = ", ".join(f"{lang} {_pct(check.subset(lang))}" for lang in LANGS)
        lines += [
            "",
            f"Check set `nlu/eval/check_*.yml` (written once the training data and the "
            f"combination rule of issue 15 were settled, first scored then at 91.2%; the data "
            f"has since only gained a few examples for gaps that the test suite and the evaluation "
            f"set showed, none taken from this set): **{_pct(check.scored)}**; "
            f"{per_lang}; 3+ sentences {_pct(check.subset(bucket='long'))}.",
        ]
    lines += ["", "What the bot does with them:", ""]
    outcomes = (
        "right",
        "asked, right one offered",
        "menu",
        "wrong",
        "asked, wrong pair",
        "false alarm",
    )
    lines.append("| messages | " + " | ".join(outcomes) + " |")
    lines.append("|---|" + "---|" * len(outcomes))
    for bucket in [*BUCKET_NAMES, None]:
        items = r.subset(bucket=bucket)
        if not items:
            continue
        counts = Counter(s.outcome for s in items)
        name = BUCKET_NAMES.get(bucket or "", "**all**")
        lines.append(
            f"| {name} ({len(items)}) | "
            + " | ".join(f"{counts[o] / len(items):.1%}" for o in outcomes)
            + " |"
        )
    crisis = [s for s in r.scored if s.message.intent == "safety_crisis"]
    negatives = [s for s in r.scored if s.message.intent != "safety_crisis"]
    hard = [s for s in negatives if s.message.hard_negative]
    alarms = [s for s in negatives if s.kind == "crisis"]
    lines += [
        "",
        f"Crisis: recall **{sum(s.kind == 'crisis' for s in crisis)}/{len(crisis)}**. False "
        f"alarms (the crisis answer for a message that is not a crisis): **{len(alarms)}/"
        f"{len(negatives)} = {len(alarms) / max(1, len(negatives)):.1%}** of the evaluation "
        f"set's non-crisis messages ({sum(s.kind == 'crisis' for s in hard)}/{len(hard)} of its "
        "hard negatives)",
    ]
    total_alarms, total = len(alarms), len(negatives)
    for name, (n_alarms, n) in r.other_negatives.items():
        lines[-1] += f"; {n_alarms}/{n} of the {name}"
        total_alarms, total = total_alarms + n_alarms, total + n
    lines[-1] += (
        f"; all non-crisis messages together: **{total_alarms}/{total} = "
        f"{total_alarms / max(1, total):.2%}**."
    )
    if alarms:
        kinds = Counter(s.message.intent for s in alarms)
        lines.append(
            "The false alarms, by real intent: "
            + ", ".join(f"{k} ({n})" for k, n in kinds.most_common())
            + "."
        )
    asked_crisis = sum(1 for s in negatives if s.kind == "ask" and "safety_crisis" in s.options)
    lines.append(
        f"The model alone suspected a crisis in {asked_crisis} non-crisis messages; the bot "
        "then asks (buttons: danger or crisis, or the likeliest need) instead of the alarm."
    )
    aged = [s for s in r.scored if s.message.age is not None]
    if aged:
        right = sum(s.age == s.message.age for s in aged)
        lines += [
            "",
            f"The child's age (in years; a baby of 6 months is 0) is read right in {right}/"
            f"{len(aged)} messages that give one.",
        ]
    if r.latencies_ms:
        lat = sorted(r.latencies_ms)
        lines += [
            "",
            f"Understanding one message (whole message and each sentence in parallel, over "
            f"HTTP, sequential messages): median {statistics.median(lat):.0f} ms, p95 "
            f"{lat[int(0.95 * (len(lat) - 1))]:.0f} ms.",
        ]
    lines += ["", "Main confusions (gold → bot's intent, count):", ""]
    for lang in LANGS:
        wrong = Counter(
            (s.message.intent, s.intent) for s in r.subset(lang) if s.intent != s.message.intent
        )
        top = ", ".join(f"{g} → {p} ({n})" for (g, p), n in wrong.most_common(6)) or "none"
        lines.append(f"- {lang}: {top}")
    lines.append(END)
    return "\n".join(lines)


def write(section: str, doc: Path | None = None) -> None:
    if doc is None:
        write_doc(section, begin=BEGIN, end=END)
    else:
        write_doc(section, doc, BEGIN, END)


def run(url: str, kind: str = "intents", languages: tuple[str, ...] | None = None) -> LongReport:
    return asyncio.run(evaluate(url, kind, languages))
