"""Make a parent's raw message safe to read, without losing what they meant.

Strips what is invisible or dangerous (control characters, zero-width characters, bidi
overrides that could reorder a reply) and caps the length the model sees. Emoji, Arabic and
line breaks stay.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 2000
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()[:MAX_CHARS]


def has_words(text: str) -> bool:
    """True when there is at least one letter or digit (not only emoji or punctuation)."""
    return any(ch.isalnum() for ch in text)
