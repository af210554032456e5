"""Text folding for search and sorting, the same at build time and at query time.

SQLite's unicode61 tokenizer removes Latin accents but not Arabic vowel marks, and Arabic words
carry the article (al-) glued to the front. Folding both the indexed text and the query the same
way lets "مدرسة" find "المدرسة" and "ecole" find "École".
"""

from __future__ import annotations

import re
import unicodedata

_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_LETTERS = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"}
)
_ARABIC_WORD = re.compile("[\u0620-\u064a\u0671-\u06d3]+")
_ARTICLES = ("وال", "بال", "فال", "كال", "لل", "ال")


def _strip_article(match: re.Match[str]) -> str:
    word = match.group(0)
    for article in _ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= 2:
            return word[len(article) :]
    return word


def fold(text: str) -> str:
    """Normalise for full-text search: Arabic marks, letter variants and article removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _ARABIC_MARKS.sub("", text).translate(_ARABIC_LETTERS)
    return _ARABIC_WORD.sub(_strip_article, text)


def sort_key(text: str) -> str:
    """Case- and accent-insensitive key, so "Épicerie" sorts with "Epicerie"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def search_tokens(text: str) -> list[str]:
    """The words of a query, folded, without one-letter noise."""
    return [token for token in re.findall(r"\w+", fold(text).casefold()) if len(token) >= 2]
