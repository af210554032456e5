"""How things work: explainers from the map's data, through the real engine."""

from __future__ import annotations

import pytest

from bot.conversation.engine import HOW_IT_WORKS, Engine
from bot.conversation.messages import Incoming, Outcome
from bot.conversation.state import ChatState
from bot.nlu.understand import Understanding

pytestmark = pytest.mark.rasa  # the engine fixture starts the real Rasa server

EXPLAINER_IDS = {
    "aanmelden-en-inschrijven",
    "brugfiguur",
    "caw",
    "clb",
    "groeipakket-en-schooltoeslag",
    "maximumfactuur",
    "naar-het-secundair",
    "ocmw",
    "oudercontact",
    "zorgcoordinator",
}


def payloads(outcome: Outcome) -> list[str]:
    return [b.payload for r in outcome.replies for row in r.buttons for b in row]


def how_it_works(lang: str, text: str) -> Understanding:
    """What the NLU returns for such a question: the explainer is chosen by the words."""
    return Understanding(lang, HOW_IT_WORKS, 0.9, (), None, None, None, degraded=False, text=text)


def start(engine: Engine, chat: str, lang: str) -> ChatState:
    state = ChatState(f"terminal:{chat}", language=lang, greeted=True)
    engine.state.save(state)
    return state


@pytest.mark.parametrize(
    ("lang", "text", "explainer", "words"),
    [
        ("nl", "Hoe werkt het inschrijven in een school?", "aanmelden-en-inschrijven", "aanmelden"),
        ("fr", "C'est quoi le CLB ?", "clb", "gratuit"),
        ("en", "What does the care coordinator at school do?", "zorgcoordinator", "CLB"),
        ("ar", "واش غادي ياخدو ليا ولادي إلا طلبت المساعدة؟", "brugfiguur", "لا أحد يأخذ"),
        ("ar", "شنو هو OCMW؟ شنو كيديرو؟", "ocmw", "الفقر"),
        ("ar", "wach ila tlabt lmousa3ada ghadi yakhdo lia wladi?", "brugfiguur", "لا أحد"),
        ("en", "is the CAW anonymous? will they take my kids?", "caw", "Nobody takes"),
    ],
)
async def test_the_best_explainer_answers(
    engine: Engine, lang: str, text: str, explainer: str, words: str
) -> None:
    state = start(engine, f"explain-{explainer}-{lang}", lang)
    outcome = engine._text(how_it_works(lang, text), state)
    assert outcome.intent == HOW_IT_WORKS
    assert words in outcome.reply
    assert "handoff:offer" in payloads(outcome)  # every answer offers a person
    assert "explain:" in payloads(outcome)


async def test_no_match_shows_every_explainer_as_buttons(engine: Engine) -> None:
    state = start(engine, "explain-list", "fr")
    outcome = engine._text(how_it_works("fr", "comment ça marche ici ?"), state)
    buttons = [p for p in payloads(outcome) if p.startswith("explain:")]
    assert {b.removeprefix("explain:") for b in buttons} == EXPLAINER_IDS
    assert "handoff:offer" in payloads(outcome)


async def test_explainer_buttons_and_the_menu(engine: Engine) -> None:
    start(engine, "explain-buttons", "en")
    menu = await engine.handle(Incoming("explain-buttons", kind="button", payload="explain:"))
    assert len([p for p in payloads(menu) if p.startswith("explain:")]) == len(EXPLAINER_IDS)
    shown = await engine.handle(
        Incoming("explain-buttons", kind="button", payload="explain:maximumfactuur")
    )
    assert shown.intent == HOW_IT_WORKS and "maximum" in shown.reply.lower()
    assert "Toelage voor schoolkosten" in shown.reply or "school costs" in shown.reply
    unknown = await engine.handle(
        Incoming("explain-buttons", kind="button", payload="explain:nonsense")
    )
    assert "explain:clb" in payloads(unknown)  # back to the list, no dead end
    hello = await engine.handle(Incoming("explain-buttons", "/menu"))
    assert "explain:" in payloads(hello)  # "How things work" is on the menu


async def test_a_need_answer_offers_the_matching_explainer(engine: Engine) -> None:
    start(engine, "explain-need", "nl")
    engine.state.save(
        ChatState("terminal:explain-need", language="nl", area="heverlee", area_asked=True)
    )
    outcome = await engine.handle(
        Incoming("explain-need", "Ik moet mijn zoon inschrijven in een nieuwe school.")
    )
    assert outcome.services  # the need is answered with services
    assert "explain:aanmelden-en-inschrijven" in payloads(outcome)
