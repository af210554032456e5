"""The crisis safety net: curated patterns that flag ``safety_crisis`` whatever the model says.

Missing a crisis is the worst failure the bot can have, so this check never depends on the
statistical model. The patterns live in ``crisis_patterns/<lang>.yml`` (one file per language,
reviewed by people who speak it) and are matched against :func:`normalize`\\d text. All
languages' patterns are tried on every message: a parent in crisis may switch language, and a
false alarm costs far less than a miss.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ruamel.yaml import YAML

PATTERN_DIR = Path(__file__).parent / "crisis_patterns"

# Zero-width and bidi control characters: invisible, and a way to dodge a pattern.
_INVISIBLE = re.compile("[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        "ؤ": "و",
        "ئ": "ي",
        "ـ": None,
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
    }
)
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Fold text so one pattern covers the ways people write the same words.

    Lower-case, NFKC, no accents or Arabic vowel marks, one form of alef/ya/ta marbuta,
    no tatweel, one apostrophe (’ typed by phones becomes '), no invisible characters, single
    spaces. Digits stay (Arabizi uses 3, 7, 9).
    """
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = unicodedata.normalize("NFD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_ARABIC_FOLD)
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class CrisisMatch:
    """Which curated pattern fired, so tests and reviewers can see why."""

    language: str
    category: str
    pattern: str


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    yaml = YAML(typ="safe")
    compiled: list[tuple[str, str, re.Pattern[str]]] = []
    for path in sorted(PATTERN_DIR.glob("*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8")) or {}
        lang = data.get("language", path.stem)
        for category, patterns in (data.get("patterns") or {}).items():
            for pattern in patterns:
                compiled.append((lang, category, re.compile(pattern, re.IGNORECASE)))
    return tuple(compiled)


def find_crisis(text: str) -> CrisisMatch | None:
    """Return the first curated crisis pattern found in ``text``, or None."""
    folded = normalize(text[:5000])
    for lang, category, regex in _compiled():
        if regex.search(folded):
            return CrisisMatch(lang, category, regex.pattern)
    return None
