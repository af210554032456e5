"""Words to match a parent's message against the map: the same rules at build and at query time.

A parent writes "schimmel", "moisissure", "mould", "الرطوبة" or "rtouba" and means the same
thing; editors list such words as ``keywords`` per service. Matching must survive what parents
do to words: inflection ("vaccins" / "vaccination"), Dutch compounds ("huurwaarborg" holds
"waarborg"), accents left out, Arabic vowel marks, the glued article and prepositions
("والكرا", "فالمدرسة"), possessive endings ("ولدي"), and the many Latin spellings of Darija
("lmadrasa", "madrassa", "l madrasa"; "3" for ain, "7" for ha, "9" for qaf).

Every word becomes one or more *keys*:

- the folded word itself (Latin accents and Arabic marks removed, lower case);
- for Latin words, a light stem (a few common Dutch, French and English endings cut off);
- for Arabic words, the word without a glued preposition or article and without a possessive
  ending;
- for Darija written in Latin letters (keywords listed under ``ar`` in Latin script), a
  consonant skeleton prefixed with ``~``: "lmadrasa" and "madrassa" both give ``~mdrs``. A
  message's Latin words get a skeleton too, so "lmadrassa" finds it; Dutch or French words
  rarely share a skeleton of three or more consonants with a Darija keyword.

At query time a key may also match a longer map key it starts (``vaccin`` finds
``vaccinatie``), a shorter map key that starts it, or end with a map key (a compound): these
partial matches count for less (see :func:`expand`).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from social_map.text import fold

MIN_PARTIAL = 5
"""Partial matches (prefix, compound) need a map key of at least this many letters."""

_WORD = re.compile(r"[^\W_]+")
_LATIN_WORD = re.compile(r"^[a-z0-9]+$")
_ARABIC = re.compile(r"[\u0600-\u06ff]")

# Small function words that carry no topic, in the four languages and Darija. A stop word is
# dropped from messages and keywords alike, so it can never cause a match.
_STOPWORDS_TEXT = """
    de het een en of in op van voor met aan bij naar om te is zijn was ik je jij hij zij we wij
    ze jullie mijn jouw zijn haar ons onze hun mij me hem dat die dit deze er niet geen wel ook
    maar als dan wat wie waar hoe heb hebt heeft hebben ben kan kunnen moet moeten wil wilt
    willen mag zou al nog nu hier daar zo heel veel meer graag goed dag hallo hoi dank bedankt
    alstublieft aub iets iemand
    le la les un une des du au aux et ou en dans sur pour par avec sans je tu il elle nous vous
    ils elles mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs me te se moi toi lui
    ce cet cette ces qui que quoi ne pas plus est suis es sommes etes sont ai as avons avez ont
    fait faire peux peut pouvez veux veut voudrais bien tres aussi mais donc car si y bonjour
    merci svp quelqu quelque chose c d l j n s qu comment marche fonctionne ici ca ça
    the a an and or of to in on at for with from by is are was were be been am i you he she it
    we they my your his her its our their me him us them this that these those there here what
    who where how when can could would should will shall do does did have has had not no yes
    please hello hi thanks thank some someone any anyone very much too also but if so just
    get got need want does
    في من على الى إلى عن مع هذا هذه ذلك التي الذي و او أو ما لا هل انا أنا انت أنت هو هي نحن
    هم كان كانت عند عندي شي واش شنو كيفاش فين علاش بغيت بغينا راه را غير حتى باش ديال دابا
    السلام عليكم شكرا
    ana nta nti howa hiya 7na ntoma homa dyal dial w wa f fi l li lli chi shi wach wash ach
    chno chnou kifach fin 3la 3ala m3a mea bghit bghina rah ra ghir hta bach salam slm
    """

_SUFFIXES = (
    "ingen", "heden", "ments", "tions", "ing", "heid", "tion", "ment", "eurs", "euse", "ies",
    "es", "en", "er", "ed", "s", "e", "x",
)  # fmt: skip
_MIN_STEM = 4

_AR_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل")
_AR_SUFFIXES = ("هما", "كما", "ها", "هم", "كم", "نا", "ات", "ين", "ون", "ي", "ه", "ك")

# Arabizi: digits stand for Arabic letters; several spellings for one sound.
_ARABIZI_DIGITS = str.maketrans({"2": "", "3": "", "7": "h", "9": "k", "5": "k", "8": "g"})
_ARABIZI_DIGRAPHS = (("kh", "k"), ("gh", "g"), ("sh", "c"), ("ch", "c"), ("ou", "u"), ("q", "k"))
_VOWELS = re.compile("[aeiouy]")
_DOUBLES = re.compile(r"(.)\1+")
_ARABIZI_ARTICLE = re.compile(r"^(?:el|al|l)(?=[bcdfghjklmnpqrstvwxz]{1}[a-z0-9]{2,})")


def _strip_latin_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(text: str) -> str:
    """Fold for matching: Arabic letter variants and article (see ``text.fold``), Latin
    accents, case."""
    return _strip_latin_accents(fold(text)).casefold()


STOPWORDS = frozenset(normalise(word) for word in _STOPWORDS_TEXT.split())


def words(text: str) -> list[str]:
    """The topic words of a text, in order, without stop words and one-letter noise."""
    found = _WORD.findall(normalise(text[:5000]))
    return [w for w in found if len(w) >= 2 and w not in STOPWORDS and not w.isdigit()]


def latin_stem(word: str) -> str:
    """Cut one common ending ("kampen" -> "kamp", "vaccins" -> "vaccin"), keeping 4 letters."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


def arabic_variants(word: str) -> set[str]:
    """The word without a glued preposition/article and/or a possessive or plural ending."""
    bases = {word}
    for prefix in _AR_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            bases.add(word[len(prefix) :])
            break
    variants = set(bases)
    for base in bases:
        for suffix in _AR_SUFFIXES:
            if base.endswith(suffix) and len(base) - len(suffix) >= 3:
                variants.add(base[: -len(suffix)])
                break
    return variants


def arabizi_skeleton(word: str) -> str | None:
    """``~mdrs`` for "lmadrasa", "madrassa", "l-madrasa"; None when too short to be safe."""
    if not _LATIN_WORD.match(word):
        return None
    text = _ARABIZI_ARTICLE.sub("", word)
    text = text.translate(_ARABIZI_DIGITS)
    for pair, single in _ARABIZI_DIGRAPHS:
        text = text.replace(pair, single)
    text = _DOUBLES.sub(r"\1", text)
    skeleton = _DOUBLES.sub(r"\1", _VOWELS.sub("", text))
    return f"~{skeleton}" if len(skeleton) >= 3 else None


def word_keys(word: str, *, arabizi: bool) -> set[str]:
    """The keys of one (normalised) word. ``arabizi``: also its Darija skeleton."""
    if _ARABIC.search(word):
        return arabic_variants(word)
    keys = {word, latin_stem(word)}
    if arabizi and (skeleton := arabizi_skeleton(word)):
        keys.add(skeleton)
    return keys


def index_keys(text: str, *, arabizi: bool = False) -> dict[str, str]:
    """Keys of a map text (keyword, name, description) -> the word they came from."""
    keys: dict[str, str] = {}
    for word in words(text):
        for key in word_keys(word, arabizi=arabizi):
            keys.setdefault(key, word)
    return keys


@dataclass(frozen=True)
class Vocabulary:
    """All keys of a built map, sorted, for the partial matches of :func:`expand`."""

    keys: tuple[str, ...]

    @classmethod
    def of(cls, keys: Iterable[str]) -> Vocabulary:
        return cls(tuple(sorted(set(keys))))

    def __contains__(self, key: object) -> bool:
        index = bisect.bisect_left(self.keys, key)  # type: ignore[arg-type]
        return index < len(self.keys) and self.keys[index] == key

    def starting_with(self, prefix: str, limit: int = 6) -> list[str]:
        start = bisect.bisect_left(self.keys, prefix)
        found = []
        for key in self.keys[start : start + limit]:
            if not key.startswith(prefix):
                break
            found.append(key)
        return found


def expand(word: str, vocabulary: Vocabulary) -> dict[str, float]:
    """Map keys a message word matches, each with how much the match counts (1 = exact).

    Partial matches count less the more the lengths differ, so "school" finds
    "schoolrekening" only weakly and "vaccin" finds "vaccinatie" well.
    """
    matches: dict[str, float] = {}
    for key in word_keys(word, arabizi=True):
        if key in vocabulary:
            matches[key] = 1.0
    if (
        _ARABIC.search(word)
        or len(word) < MIN_PARTIAL
        or any(not key.startswith("~") for key in matches)
    ):
        return matches  # an exact (or stem) match needs no partial ones
    stem = latin_stem(word)
    for key in vocabulary.starting_with(stem):
        if key not in matches and not key.startswith("~"):
            matches[key] = max(0.5, len(stem) / len(key)) * 0.9
    for size in range(MIN_PARTIAL, len(word)):
        head, tail = word[:size], word[-size:]
        if head in vocabulary and head not in matches:
            matches[head] = 0.8 * size / len(word) + 0.1
        if tail in vocabulary and tail not in matches:
            matches[tail] = 0.9 * size / len(word) + 0.1
    return matches


def query_words(text: str, vocabulary: Vocabulary) -> dict[str, dict[str, float]]:
    """For each distinct message word that matches the map: its keys and their factors."""
    found: dict[str, dict[str, float]] = {}
    for word in words(text):
        if word in found:
            continue
        matches = expand(word, vocabulary)
        if matches:
            found[word] = matches
    return found


def all_words(texts: Sequence[str]) -> list[str]:
    """Distinct topic words of several texts, in first-seen order."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            seen.setdefault(word, None)
    return list(seen)
