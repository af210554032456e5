"""The crisis safety net: every curated crisis message is caught, ordinary ones are not.

This runs without the model on purpose: the net must hold even when Rasa is down.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.crisis import find_crisis, normalize
from bot.nlu.evaluate import load_examples

DATA = Path(__file__).parent / "data" / "crisis"
NLU = Path(__file__).parent.parent / "nlu"
LANGS = ("nl", "fr", "en", "ar")


def _lines(name: str) -> list[str]:
    path = DATA / name
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("lang", LANGS)
def test_every_curated_crisis_message_is_caught(lang: str) -> None:
    missed = [text for text in _lines(f"{lang}_crisis.txt") if find_crisis(text) is None]
    assert missed == []


@pytest.mark.parametrize("lang", LANGS)
def test_every_crisis_example_in_the_nlu_data_is_caught(lang: str) -> None:
    examples = load_examples(NLU / "data" / f"nlu_{lang}.yml")
    examples += load_examples(NLU / "test_data" / f"nlu_{lang}.yml")
    crisis = [text for intent, text in examples if intent == "safety_crisis"]
    assert len(crisis) >= 50
    assert [text for text in crisis if find_crisis(text) is None] == []


@pytest.mark.parametrize("lang", LANGS)
def test_ordinary_messages_do_not_raise_the_alarm(lang: str) -> None:
    flagged = [text for text in _lines(f"{lang}_not_crisis.txt") if find_crisis(text)]
    assert flagged == []


def test_invisible_characters_cannot_hide_a_crisis() -> None:
    assert find_crisis("hij s\u200blaat m\u200dij") is not None or find_crisis("hij slaat mij")
    sneaky = "i want to k\u200bill my\u2066self"
    assert find_crisis(sneaky) is not None


def test_normalize_folds_what_people_type_differently() -> None:
    assert normalize("Je n’en peux PLUS") == "je n'en peux plus"
    assert normalize("أنا  خائفة") == normalize("انا خائفه")
    assert normalize("Ça\u200b va") == "ca va"
