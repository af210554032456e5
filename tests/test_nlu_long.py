"""Long, real messages through the real Rasa model: the need, how_it_works, the age, and the
one question the bot asks when two needs are close (issue 15)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.conversation.engine import Engine
from bot.conversation.messages import Incoming, Outcome
from bot.nlu.client import NLUClient
from bot.nlu.understand import HOW_IT_WORKS, Understander

pytestmark = pytest.mark.rasa


@pytest.fixture
async def understander(rasa_url: str) -> AsyncIterator[Understander]:
    client = NLUClient(rasa_url, timeout=5.0)
    yield Understander(client)
    await client.aclose()


def payloads(outcome: Outcome) -> list[str]:
    return [b.payload for r in outcome.replies for row in r.buttons for b in row]


@pytest.mark.parametrize(
    ("lang", "text", "need"),
    [
        (
            "nl",
            "Goeiemorgen mevrouw, ik hoop dat het goed gaat met u. Ik ben alleen met twee "
            "kinderen en we hebben deze week bijna niets meer om te eten. Waar is er een "
            "sociale kruidenier in Kessel-Lo? Alvast bedankt!",
            "food",
        ),
        (
            "fr",
            "Bonjour madame! Mon fils de 11 ans joue au foot dans la rue tous les jours. Il "
            "voudrait entrer dans un club mais la cotisation est trop chère pour nous. Il y a "
            "une réduction avec la UiTPAS? Merci beaucoup.",
            "leisure",
        ),
        (
            "en",
            "Hello, good evening. My little girl is 3 and she has had a high fever since this "
            "afternoon. Our doctor is closed now. Where can I take her tonight?",
            "health",
        ),
        (
            "ar",
            "السلام عليكم. أنا أم لثلاثة أطفال في هيفرلي. المالك لا يصلح الرطوبة في غرفة "
            "الأطفال منذ الشتاء. ماذا يمكنني أن أفعل؟",
            "housing",
        ),
    ],
)
async def test_a_greeting_and_a_backstory_do_not_hide_the_need(
    understander: Understander, lang: str, text: str, need: str
) -> None:
    u = await understander.understand(text, lang)
    assert u.sentences > 1  # read sentence by sentence
    assert u.intent == need
    assert u.choice.kind in ("answer", "ask") and need in u.choice.intents
    assert u.text == text  # the ranking of services reads the message too


@pytest.mark.parametrize(
    "text",
    [
        "We must leave our flat at the end of the month. Where can we find a new one?",
        "We moeten ons appartement op het einde van de maand verlaten. Wie helpt ons zoeken?",
        "On doit quitter notre appartement à la fin du mois, où chercher un autre logement?",
        "خاصنا نخرجو من الدار فآخر الشهر، شكون يعاونا نقلبو على دار؟",
    ],
)
async def test_leaving_the_flat_at_the_end_of_the_month_is_housing_not_a_crisis(
    understander: Understander, text: str
) -> None:
    u = await understander.understand(text)
    assert u.crisis is None
    assert u.choice.kind != "crisis"
    assert "housing" in u.choice.intents


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("nl", "Wij zijn nieuw in Vlaanderen. Hoe werkt het inschrijven in de kleuterschool?"),
        ("fr", "C'est quoi exactement le rôle du CLB? Ils travaillent pour l'école?"),
        ("en", "If I ask the OCMW for help, will they take my children away from me?"),
        ("ar", "brugfiguur dyal lmadrasa chno katdir bdebt?"),
    ],
)
async def test_how_things_work_questions_are_recognised(
    understander: Understander, lang: str, text: str
) -> None:
    u = await understander.understand(text, lang)
    assert u.intent == HOW_IT_WORKS
    assert u.choice.kind == "answer"


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("Hallo. Ik zoek een crèche voor mijn dochter van 6 maanden in Heverlee.", 0),
        ("salam, ibni 3ando 8 snin w khaso chi 7ed y3awno f devoirs", 8),
        ("Bonjour. Ma fille de 14 ans a besoin d'un ordinateur pour l'école.", 14),
    ],
)
async def test_the_childs_age_is_read_in_years(
    understander: Understander, text: str, age: int
) -> None:
    u = await understander.understand(text)
    assert u.age == age


TWO_NEEDS = (
    "Hallo. Ik heb twee vragen. De schoolfactuur van mijn zoon is te hoog voor ons. "
    "En hij heeft ook hulp nodig bij zijn huiswerk."
)


async def test_two_close_needs_get_one_question_with_both_as_buttons(engine: Engine) -> None:
    chat = "two-needs"
    await engine.handle(Incoming(chat, kind="button", payload="lang:nl"))
    outcome = await engine.handle(Incoming(chat, TWO_NEEDS))
    offered = [p for p in payloads(outcome) if p.startswith("need:")]
    assert sorted(offered) == ["need:homework_help", "need:school_costs"]
    assert not outcome.services  # a question, not a guess
    assert "handoff:offer" in payloads(outcome)  # a person is always on offer
    answer = await engine.handle(Incoming(chat, kind="button", payload="need:homework_help"))
    if any(p.startswith("area:") for p in payloads(answer)):
        answer = await engine.handle(Incoming(chat, kind="button", payload="area:kessel-lo"))
    assert answer.intent == "homework_help"
    assert answer.services


async def test_how_it_works_gets_an_answer_not_the_not_understood_menu(engine: Engine) -> None:
    chat = "how-it-works"
    await engine.handle(Incoming(chat, kind="button", payload="lang:en"))
    outcome = await engine.handle(
        Incoming(chat, "What does the CLB do, and is it free? My son's school asked me.")
    )
    assert outcome.intent == HOW_IT_WORKS
    assert "Sorry, I am not sure I understand" not in outcome.reply


async def test_the_models_crisis_guess_is_a_question_not_the_alarm(engine: Engine) -> None:
    """No curated pattern fired, but the model said safety_crisis: ask, with 112 on top."""
    from bot.conversation.state import ChatState
    from bot.nlu.understand import Understanding

    guess = Understanding(
        language="en",
        intent="health",
        confidence=0.7,
        entities=(),
        area=None,
        age=None,
        crisis=None,
        degraded=False,
        text="it is late and my boy will not stop crying",
        alternatives=(("health", 0.7), ("parenting", 0.2)),
        crisis_suspected=True,
    )
    outcome = engine._text(guess, ChatState("guess"))
    assert not outcome.urgent and not outcome.handoff  # no alarm, no urgent handover
    assert "112" in outcome.reply
    offered = [p for p in payloads(outcome) if p.startswith("need:")]
    assert offered == ["need:safety_crisis", "need:health"]
    crisis = await engine.handle(Incoming("guess", kind="button", payload="need:safety_crisis"))
    assert crisis.urgent  # one press and the crisis answer follows
