"""Language detection: four languages, Arabizi, greetings, code-switching, stickiness."""

from __future__ import annotations

import pytest

from bot.nlu.language import choose, detect


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("hallo", "nl"),
        ("ik zoek een crèche voor mijn dochter", "nl"),
        ("kunne ge mij helpen me ne brief van school", "nl"),
        ("bonjour", "fr"),
        ("j'ai besoin d'aide pour payer l'école", "fr"),
        ("mon fils a besoin de huiswerkbegeleiding", "fr"),
        ("hi", "en"),
        ("my son need help with homework pls", "en"),
        ("I got a brief from the OCMW", "en"),
        ("salam", "ar"),
        ("عندي مشكل مع المدرسة", "ar"),
        ("3andi mochkil m3a lmadrasa", "ar"),
        ("bghit nhder m3a chi wa7ed", "ar"),
    ],
)
def test_detects_the_language(text: str, lang: str) -> None:
    assert detect(text).language == lang


def test_a_conversation_keeps_its_language_for_ambiguous_words() -> None:
    for word in ("ok", "Heverlee", "3001", "👍"):
        assert choose(word, "ar") == "ar"
        assert choose(word, "fr") == "fr"


def test_a_clear_switch_changes_the_language() -> None:
    assert choose("je cherche une crèche à heverlee", "nl") == "fr"
    assert choose("عندي مشكل", "en") == "ar"


def test_the_platform_hint_decides_an_ambiguous_first_message() -> None:
    assert choose("ok", None, hint="fr-BE") == "fr"
    assert choose("ok", None, hint="ar") == "ar"
