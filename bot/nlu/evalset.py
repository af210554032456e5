"""The long-message evaluation set (``nlu/eval/``): loading, length buckets and gold ages.

Kept apart from the training data (``nlu/data/``) and the test split (``nlu/test_data/``) so
it is never trained on and never part of the model's fingerprint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from bot.nlu.evaluate import strip_annotations
from bot.paths import NLU_PROJECT

EVAL_DIR = NLU_PROJECT / "eval"
BUCKETS = ("short", "medium", "long")
# A sentence ends at . ! ? ؟ (not inside "8.30" or "3.000") or at a line break.
_SENTENCE_END = re.compile(r"(?<!\d)[.!?؟]+(?=\s|$)|\n+|(?<=\d)[.!?؟]+(?=\s+\D|$)")
_AGE_MARK = re.compile(r"\[(\d{1,2})\]\(age\)\s*(\S*)")
_MONTH_WORDS = re.compile(
    r"^(maand|maanden|mois|month|months|شهر|شهور|أشهر|اشهر|chhour|chhor|chhar|shhour|mois)$"
)


@dataclass(frozen=True)
class EvalMessage:
    language: str
    intent: str
    text: str
    age: int | None  # the child's age in years that the message gives (babies: 0)
    hard_negative: bool

    @property
    def sentences(self) -> int:
        return sentence_count(self.text)

    @property
    def bucket(self) -> str:
        """short: one sentence; medium: two; long: three or more (the issue's definition)."""
        n = self.sentences
        return "short" if n <= 1 else "medium" if n == 2 else "long"


def sentence_count(text: str) -> int:
    parts = [p for p in _SENTENCE_END.split(text) if p and re.search(r"\w", p)]
    return max(1, len(parts))


def gold_age(annotated: str) -> int | None:
    """The age marked ``[6](age)``, in whole years: "6 maanden" is a baby of 0."""
    match = _AGE_MARK.search(annotated)
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2).strip(".,;:!?").casefold()
    return value // 12 if _MONTH_WORDS.match(unit) else value


def load_file(path: Path) -> list[EvalMessage]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    lang = data.get("language") or path.stem.split("_")[-1]
    out = []
    for section, hard in (("messages", False), ("stories", False), ("hard_negatives", True)):
        for intent, texts in (data.get(section) or {}).items():
            for raw in texts or []:
                out.append(EvalMessage(lang, intent, strip_annotations(raw), gold_age(raw), hard))
    return out


def load(
    eval_dir: Path = EVAL_DIR, languages: tuple[str, ...] | None = None, kind: str = "intents"
) -> list[EvalMessage]:
    """``kind="intents"``: the evaluation set; ``kind="dev"``: the messages used for tuning."""
    messages: list[EvalMessage] = []
    for path in sorted(eval_dir.glob(f"{kind}_*.yml")):
        loaded = load_file(path)
        messages += [m for m in loaded if not languages or m.language in languages]
    return messages
