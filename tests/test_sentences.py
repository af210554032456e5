"""Reading a long message piece by piece: splitting, combining, and what the bot then does.

Pure functions on model output (no server needed); tests/test_nlu_long.py runs the same path
through the real Rasa model.
"""

from __future__ import annotations

import pytest

from bot.nlu.client import NLUParse
from bot.nlu.sentences import MAX_PIECES, split
from bot.nlu.understand import CONFIDENCE_THRESHOLD, Understanding, combine


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("ik zoek kinderopvang", ["ik zoek kinderopvang"]),
        (
            "Hallo. Mijn zoon is 8. Is er een huiswerkklas?",
            ["Hallo.", "Mijn zoon is 8.", "Is er een huiswerkklas?"],
        ),
        (
            "Bonjour madame, je cherche une crèche. Merci!",
            ["Bonjour madame", "je cherche une crèche.", "Merci!"],
        ),
        ("hallo, ik zoek hulp", ["hallo, ik zoek hulp"]),
        (
            "Goeiemorgen\nik heb een vraag over de huur",
            ["Goeiemorgen", "ik heb een vraag over de huur"],
        ),
        ("السلام عليكم. ولدي مريض؟ فين نمشي", ["السلام عليكم.", "ولدي مريض؟", "فين نمشي"]),
        # times, decimals and a long first clause are not split
        (
            "school begint om 8.30 en hij heeft 39,5 koorts",
            ["school begint om 8.30 en hij heeft 39,5 koorts"],
        ),
        (
            "my son who is in the third grade at school, needs help",
            ["my son who is in the third grade at school, needs help"],
        ),
        ("!!! ... ?", []),
    ],
)
def test_a_message_is_split_into_sentences(text: str, pieces: list[str]) -> None:
    assert split(text) == pieces


def test_a_very_long_message_stays_a_few_pieces() -> None:
    text = " ".join(f"Zin nummer {i}." for i in range(40))
    pieces = split(text)
    assert len(pieces) == MAX_PIECES
    assert pieces[-1].endswith("Zin nummer 39.")  # the end (often the question) is kept


def parse(*ranking: tuple[str, float]) -> NLUParse:
    return NLUParse(ranking[0][0], ranking[0][1], (), ranking)


def test_a_greeting_line_does_not_outvote_the_question() -> None:
    whole = parse(("greet", 0.7), ("money", 0.2), ("food", 0.1))
    hello = parse(("greet", 0.99), ("thanks", 0.01))
    story = parse(("childcare", 0.5), ("money", 0.4), ("health", 0.1))
    question = parse(("money", 0.8), ("paperwork", 0.2))
    ranked = combine(whole, [hello, story, question])
    assert ranked[0][0] == "money"
    assert "greet" not in dict(ranked)
    assert abs(sum(v for _, v in ranked) - 1.0) < 1e-9


def test_only_small_talk_stays_small_talk() -> None:
    whole = parse(("thanks", 0.8), ("greet", 0.2))
    ranked = combine(whole, [parse(("greet", 0.9)), parse(("thanks", 0.95))])
    assert ranked[0][0] == "thanks"


def test_one_sentence_keeps_the_models_ranking() -> None:
    whole = parse(("housing", 0.9), ("legal", 0.1))
    assert combine(whole, []) == whole.ranking


def understood(
    *ranked: tuple[str, float], sentences: int = 1, suspected: bool = False
) -> Understanding:
    return Understanding(
        language="en",
        intent=ranked[0][0],
        confidence=ranked[0][1],
        entities=(),
        area=None,
        age=None,
        crisis=None,
        degraded=False,
        text="",
        alternatives=ranked,
        sentences=sentences,
        crisis_suspected=suspected,
    )


def test_two_close_needs_are_asked_not_guessed() -> None:
    u = understood(("school_costs", 0.48), ("homework_help", 0.40), ("greet", 0.12))
    assert u.runner_up == "homework_help"
    assert u.choice.kind == "ask"
    assert u.choice.intents == ("school_costs", "homework_help")


def test_a_clear_need_is_answered() -> None:
    u = understood(("housing", 0.85), ("legal", 0.1), ("money", 0.05))
    assert u.runner_up is None
    assert (u.choice.kind, u.choice.intents) == ("answer", ("housing",))


def test_nothing_clear_gives_the_menu() -> None:
    u = understood(("food", 0.3), ("out_of_scope", 0.25), ("greet", 0.2), ("money", 0.05))
    assert u.confidence < CONFIDENCE_THRESHOLD
    assert u.choice.kind == "menu"


def test_a_long_message_needs_a_smaller_share_to_be_clear() -> None:
    ranked = (("money", 0.45), ("food", 0.15), ("paperwork", 0.1), ("health", 0.1))
    assert understood(*ranked, sentences=1).choice.kind == "menu"
    assert understood(*ranked, sentences=4).choice.intents == ("money",)


def test_the_model_alone_never_sounds_the_crisis_alarm() -> None:
    u = understood(("housing", 0.8), ("legal", 0.1), suspected=True)
    assert u.choice.kind == "ask"
    assert u.choice.intents == ("safety_crisis", "housing")
