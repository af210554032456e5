"""Which language a parent writes in: nl, ar, fr or en.

Lingua (a maintained, offline detector) does the statistics. Three things it cannot do well
are handled here: Arabizi (Darija in Latin letters with digits: "3andi mochkil") counts as
Arabic; one-word greetings ("hallo", "salam", "merci"); and code-switching, where the small
function words ("mon fils a besoin de huiswerkbegeleiding") tell the language the parent is
writing in, not the borrowed Dutch noun. A conversation keeps its language unless a message
is *clearly* in another one, so "ok" or "Heverlee" never flips it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED = ("nl", "ar", "fr", "en")
_LINGUA = {
    Language.DUTCH: "nl",
    Language.ARABIC: "ar",
    Language.FRENCH: "fr",
    Language.ENGLISH: "en",
}

_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTER = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_WORD = re.compile(r"[\w']+", re.UNICODE)
# Arabizi: digits standing for Arabic sounds inside a word (3 = ع, 7 = ح, 9 = ق, 2 = ء, 5 = خ).
_ARABIZI_WORD = re.compile(r"^(?=.*[a-z])[a-z]*[23579][a-z]+[a-z0-9]*$|^[a-z]+[23579]$")

# Small, high-precision word lists: function words and greetings that mark a language.
_MARKERS: dict[str, frozenset[str]] = {
    "nl": frozenset(
        [
            "ik",
            "mijn",
            "mij",
            "me",
            "je",
            "jij",
            "u",
            "uw",
            "ge",
            "gij",
            "het",
            "een",
            "de",
            "van",
            "voor",
            "niet",
            "ni",
            "nie",
            "nee",
            "da",
            "dat",
            "wat",
            "waar",
            "hoe",
            "is",
            "zijn",
            "heb",
            "heeft",
            "hebben",
            "kan",
            "kunnen",
            "kunne",
            "wil",
            "moet",
            "met",
            "en",
            "ook",
            "maar",
            "naar",
            "zoek",
            "zoeken",
            "kind",
            "kinderen",
            "zoon",
            "dochter",
            "hallo",
            "hoi",
            "dag",
            "dank",
            "dankje",
            "dankuwel",
            "bedankt",
            "goeiemorgen",
            "goedemorgen",
            "goeiedag",
            "tot",
            "ziens",
            "allee",
            "ewa",
            "efkes",
            "iemand",
            "hulp",
            "nodig",
            "waar",
            "help",
            "wij",
            "we",
            "ons",
            "onze",
            "geen",
            "graag",
            "alstublieft",
            "aub",
        ]
    ),
    "fr": frozenset(
        [
            "je",
            "j'",
            "j",
            "mon",
            "ma",
            "mes",
            "le",
            "la",
            "les",
            "un",
            "une",
            "des",
            "du",
            "de",
            "pour",
            "pas",
            "ne",
            "est",
            "suis",
            "ai",
            "avons",
            "avez",
            "vous",
            "nous",
            "il",
            "elle",
            "on",
            "qui",
            "que",
            "quoi",
            "où",
            "ou",
            "comment",
            "avec",
            "et",
            "mais",
            "besoin",
            "aide",
            "aider",
            "cherche",
            "enfant",
            "enfants",
            "fils",
            "fille",
            "bonjour",
            "bonsoir",
            "salut",
            "slt",
            "bjr",
            "merci",
            "mrc",
            "svp",
            "stp",
            "oui",
            "non",
            "au",
            "aux",
            "ça",
            "c'",
            "cest",
            "c'est",
            "chez",
            "moi",
            "toi",
            "dans",
            "sur",
        ]
    ),
    "en": frozenset(
        [
            "i",
            "i'm",
            "im",
            "my",
            "me",
            "you",
            "your",
            "he",
            "she",
            "it",
            "we",
            "our",
            "they",
            "the",
            "a",
            "an",
            "of",
            "for",
            "not",
            "no",
            "is",
            "are",
            "am",
            "was",
            "have",
            "has",
            "need",
            "want",
            "can",
            "could",
            "please",
            "pls",
            "plz",
            "where",
            "how",
            "what",
            "who",
            "with",
            "and",
            "but",
            "son",
            "daughter",
            "child",
            "children",
            "kid",
            "kids",
            "hello",
            "hi",
            "hey",
            "thanks",
            "thank",
            "thx",
            "ty",
            "help",
            "looking",
            "find",
            "there",
            "do",
            "does",
            "don't",
            "dont",
        ]
    ),
    "ar": frozenset(
        [
            "ana",
            "nta",
            "nti",
            "3andi",
            "andi",
            "3ndi",
            "bghit",
            "bghina",
            "wach",
            "wash",
            "dyal",
            "dial",
            "diali",
            "m3a",
            "ma3a",
            "chi",
            "shi",
            "kayn",
            "kayna",
            "fin",
            "feen",
            "kifach",
            "kifash",
            "3lach",
            "3la",
            "lmadrasa",
            "madrasa",
            "lwlad",
            "wlad",
            "drari",
            "dari",
            "flous",
            "khedma",
            "bzaf",
            "bezaf",
            "walo",
            "safi",
            "wakha",
            "wa9ila",
            "salam",
            "slm",
            "salamo",
            "alaykum",
            "labas",
            "chokran",
            "choukran",
            "shukran",
            "baraka",
            "hamdullah",
            "hamdoulah",
            "inchallah",
            "nhder",
            "n7der",
            "m3ak",
            "hna",
            "daba",
            "ghadi",
            "kan",
            "kanbghi",
            "kandir",
            "kayn3",
            "lah",
            "3afak",
            "afak",
            "3awni",
            "3awnouni",
            "liya",
            "lia",
            "lya",
            "dyalna",
            "sift",
            "sifto",
            "sifat",
            "bach",
            "baghi",
            "baghya",
            "khoya",
            "khti",
            "mama",
            "bba",
            "wlidi",
            "bniti",
        ]
    ),
}


# A word that marks two languages ("de", "is", "me") marks neither.
_UNIQUE_MARKERS = {
    lang: frozenset(w for w in words if sum(w in other for other in _MARKERS.values()) == 1)
    for lang, words in _MARKERS.items()
}


@dataclass(frozen=True)
class Detection:
    language: str
    confidence: float
    clear: bool  # strong enough to switch a conversation that is in another language


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_LINGUA).with_preloaded_language_models().build()


def warm_up() -> None:
    """Load the models now (about half a second) instead of on a parent's first message."""
    _detector()


def detect(text: str, hint: str | None = None) -> Detection:
    """Detect the language of ``text``; ``hint`` is the platform's language (e.g. Telegram's)."""
    hint = _short(hint)
    arabic = len(_ARABIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if arabic and arabic >= latin:
        return Detection("ar", 1.0, clear=True)
    words = [w.lower() for w in _WORD.findall(text)]
    if not words or latin == 0:
        return Detection(hint or "nl", 0.0, clear=False)

    hits = {lang: sum(w in _UNIQUE_MARKERS[lang] for w in words) for lang in SUPPORTED}
    hits["ar"] += sum(bool(_ARABIZI_WORD.match(w)) for w in words if w not in _MARKERS["ar"])
    if len(words) <= 2 and any(hits.values()):
        # One or two words: a greeting or a marker word says more than any statistics.
        best = max(SUPPORTED, key=lambda lang: hits[lang])
        unique = sorted(hits.values(), reverse=True)[1] < hits[best]
        return Detection(best, 1.0 if unique else 0.5, clear=unique)
    scores = dict.fromkeys(SUPPORTED, 0.0)
    for value in _detector().compute_language_confidence_values(text):
        scores[_LINGUA[value.language]] = value.value
    # Arabizi looks like noise to a statistical detector, and a borrowed Dutch noun in a
    # French sentence fools it: the small function words decide.
    for lang in SUPPORTED:
        scores[lang] += 0.5 * min(hits[lang], 4)
    if hint in scores:
        scores[hint] += 0.1
    best = max(scores, key=lambda lang: scores[lang])
    ranked = sorted(scores.values(), reverse=True)
    margin = ranked[0] - ranked[1]
    clear = (hits[best] >= 1 and margin >= 0.3) or (len(words) >= 3 and margin >= 0.5)
    return Detection(best, min(1.0, ranked[0] / 1.5), clear=clear)


def choose(text: str, current: str | None, hint: str | None = None) -> str:
    """The language to answer in: keep ``current`` unless the parent clearly switched."""
    detection = detect(text, hint)
    if current in SUPPORTED and (not detection.clear or detection.language == current):
        return current
    if current is None and not detection.clear and _short(hint) in SUPPORTED:
        return _short(hint)  # type: ignore[return-value]
    return detection.language


def _short(code: str | None) -> str | None:
    """'fr-BE' -> 'fr'; unsupported or empty -> None."""
    if not code:
        return None
    short = code.replace("_", "-").split("-")[0].lower()
    return short if short in SUPPORTED else None
