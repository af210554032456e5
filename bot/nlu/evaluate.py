"""Measure the NLU on the held-out test split (``nlu/test_data/``) and report it in docs/nlu.md.

The scores are for what the bot really does (:class:`bot.nlu.understand.Understander`: the
model on the whole message and on each sentence, overridden by the crisis safety net). The
model's own answer on the whole message is reported beside it, so the share of the net and of
the sentence reading is visible. The long, real messages of ``nlu/eval/`` are scored by
:mod:`bot.nlu.evaluate_long`.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

from bot.nlu.client import NLUClient
from bot.nlu.crisis import find_crisis
from bot.nlu.understand import Understander
from bot.paths import NLU_PROJECT, PROJECT_ROOT

TEST_DIR = NLU_PROJECT / "test_data"
CRISIS_DIR = PROJECT_ROOT / "tests" / "data" / "crisis"
DOC = PROJECT_ROOT / "docs" / "nlu.md"
BEGIN, END = "<!-- nlu-eval:begin -->", "<!-- nlu-eval:end -->"
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


def strip_annotations(example: str) -> str:
    """'ik woon in [Heverlee]{"entity": "area"}' -> 'ik woon in Heverlee'."""
    return _ANNOTATION.sub(r"\1", example)


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(intent, text) pairs from a Rasa NLU YAML file."""
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    pairs = []
    for item in data.get("nlu") or []:
        if "intent" not in item:
            continue
        for line in str(item.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((item["intent"], strip_annotations(line[2:].strip())))
    return pairs


def load_test_split() -> dict[str, list[tuple[str, str]]]:
    return {
        p.stem.removeprefix("nlu_"): load_examples(p) for p in sorted(TEST_DIR.glob("nlu_*.yml"))
    }


@dataclass
class LanguageReport:
    language: str
    n: int = 0
    correct: int = 0
    model_correct: int = 0
    f1: float = 0.0
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def model_accuracy(self) -> float:
        return self.model_correct / self.n if self.n else 0.0


@dataclass
class EvalReport:
    languages: list[LanguageReport]
    crisis_total: int
    crisis_found: int  # the bot sounded the crisis alarm (only the curated net does)
    crisis_by_model: int  # the model alone would have said safety_crisis
    latencies_ms: list[float]

    @property
    def accuracy(self) -> float:
        n = sum(r.n for r in self.languages)
        return sum(r.correct for r in self.languages) / n if n else 0.0

    @property
    def crisis_recall(self) -> float:
        return self.crisis_found / self.crisis_total if self.crisis_total else 0.0


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Macro-averaged F1 over the gold labels of (gold, predicted) pairs."""
    labels = sorted({g for g, _ in pairs})
    scores = []
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


async def evaluate(url: str, languages: tuple[str, ...] | None = None) -> EvalReport:
    client = NLUClient(url, timeout=30.0)
    understander = Understander(client)
    latencies: list[float] = []
    reports = []
    crisis_total = crisis_found = crisis_by_model = 0
    try:
        for lang, examples in load_test_split().items():
            if languages and lang not in languages:
                continue
            report = LanguageReport(lang)
            pairs = []
            for gold, text in examples:
                started = time.perf_counter()
                parse = await client.parse(text)
                latencies.append((time.perf_counter() - started) * 1000)
                model = parse.intent if parse else "none"
                understood = await understander.understand(text, lang)
                final = understood.intent or "none"
                report.n += 1
                report.correct += final == gold
                report.model_correct += model == gold
                if final != gold:
                    report.confusions[(gold, final)] += 1
                pairs.append((gold, final))
                if gold == "safety_crisis":
                    crisis_total += 1
                    crisis_found += understood.choice.kind == "crisis"
                    crisis_by_model += model == "safety_crisis"
            report.f1 = macro_f1(pairs)
            reports.append(report)
        for path in sorted(CRISIS_DIR.glob("*_crisis.txt")):
            if path.name.endswith("_not_crisis.txt"):
                continue
            if languages and path.name.split("_")[0] not in languages:
                continue
            for text in path.read_text(encoding="utf-8").splitlines():
                if not text.strip():
                    continue
                parse = await client.parse(text)
                crisis_total += 1
                crisis_found += find_crisis(text) is not None
                crisis_by_model += parse is not None and parse.intent == "safety_crisis"
    finally:
        await client.aclose()
    return EvalReport(reports, crisis_total, crisis_found, crisis_by_model, latencies)


def to_markdown(report: EvalReport, model_name: str) -> str:
    lines = [
        BEGIN,
        f"Model `{model_name}`, test split `nlu/test_data/` (never used for training), "
        "measured by `wegwijs nlu eval`.",
        "",
        "| language | examples | accuracy (bot: model + crisis net) | model only, whole message "
        "| macro-F1 |",
        "|---|---|---|---|---|",
    ]
    for r in report.languages:
        lines.append(
            f"| {r.language} | {r.n} | {r.accuracy:.1%} | {r.model_accuracy:.1%} | {r.f1:.3f} |"
        )
    total = sum(r.n for r in report.languages)
    lines += [
        f"| **all** | {total} | **{report.accuracy:.1%}** | | |",
        "",
        f"Crisis recall (test split + `tests/data/crisis/*_crisis.txt`): "
        f"**{report.crisis_recall:.1%}** ({report.crisis_found}/{report.crisis_total}), "
        "all by the curated patterns, the only part that sounds the alarm; the model alone "
        f"would have said safety_crisis for {report.crisis_by_model}/{report.crisis_total}.",
        "",
    ]
    if report.latencies_ms:
        lat = sorted(report.latencies_ms)
        p95 = lat[int(0.95 * (len(lat) - 1))]
        lines.append(
            f"Parse latency over HTTP, sequential ({len(lat)} calls): median "
            f"{statistics.median(lat):.1f} ms, p95 {p95:.1f} ms."
        )
        lines.append("")
    lines.append("Main confusions (gold → predicted, count):")
    lines.append("")
    for r in report.languages:
        top = ", ".join(f"{g} → {p} ({n})" for (g, p), n in r.confusions.most_common(5)) or "none"
        lines.append(f"- {r.language}: {top}")
    lines.append(END)
    return "\n".join(lines)


def write_doc(section: str, doc: Path = DOC, begin: str = BEGIN, end: str = END) -> None:
    """Replace one generated section of docs/nlu.md, keeping the hand-written text around it.

    ``section`` starts with ``begin`` and ends with ``end``.
    """
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# NLU\n"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(head + section + tail, encoding="utf-8")


def run(url: str, languages: tuple[str, ...] | None = None) -> EvalReport:
    return asyncio.run(evaluate(url, languages))
