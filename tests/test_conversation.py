"""Scripted conversations through the real engine, the real map and the real Rasa server."""

from __future__ import annotations

import pytest

from bot.conversation.engine import Engine
from bot.conversation.i18n import LRI, PDI, Lang
from bot.conversation.messages import Incoming, Outcome
from social_map.schema import NEEDS

pytestmark = pytest.mark.rasa

WELCOME = (
    "Privacy: I keep only your language, part of Leuven and topic, not your messages. "
    "Type /privacy to read more, /forget to erase everything."
)
AREA_QUESTION = "In which part of Leuven do you live?"
NOT_UNDERSTOOD = "Sorry, I am not sure I understand. I can help with these topics:"


def said(lang: str, msgid: str) -> str:
    return Lang(lang)._(msgid)


def payloads(outcome: Outcome) -> list[str]:
    return [b.payload for r in outcome.replies for row in r.buttons for b in row]


async def text(engine: Engine, chat: str, message: str, hint: str | None = None) -> Outcome:
    return await engine.handle(Incoming(chat, message, language_hint=hint))


async def press(engine: Engine, chat: str, payload: str) -> Outcome:
    return await engine.handle(Incoming(chat, kind="button", payload=payload))


FIRST_MESSAGES = {
    "nl": "hallo, ik zoek hulp",
    "fr": "bonjour j'ai besoin d'aide",
    "en": "hello I need some help please",
    "ar": "السلام عليكم أحتاج مساعدة",
}


@pytest.mark.parametrize("lang", ["nl", "fr", "en", "ar"])
async def test_first_contact_greets_in_the_parents_language(engine: Engine, lang: str) -> None:
    outcome = await text(engine, f"first-{lang}", FIRST_MESSAGES[lang])
    assert outcome.language == lang
    assert said(lang, WELCOME) in outcome.replies[0].text
    assert payloads(outcome)[:4] == ["lang:nl", "lang:ar", "lang:fr", "lang:en"]
    assert any(p.startswith("need:") for p in payloads(outcome))  # and the menu follows


# One message per need and language, the way parents write. The reply must name services.
NEED_MESSAGES = {
    "nl": {
        "food": "we hebben ni genoeg eten op het einde van de maand",
        "homework_help": "mijn zoon heeft hulp nodig bij zijn huiswerk",
        "school_costs": "ik kan de schoolrekening niet betalen",
        "childcare": "ik zoek kinderopvang voor mijn baby",
        "housing": "ons huis is vochtig en de huisbaas doet niks",
        "paperwork": "ik heb een brief gekregen en ik versta die niet",
        "work_and_dutch": "waar kan ik nederlandse les volgen",
        "health": "mijn dochter is ziek ik zoek een dokter",
    },
    "fr": {
        "food": "on n'a plus rien à manger à la fin du mois",
        "school_costs": "je ne peux pas payer la facture de l'école",
        "childcare": "je cherche une crèche pour mon bébé",
        "parenting": "mon fils ne m'écoute plus du tout, je suis perdue",
    },
    "en": {
        "food": "we dont have enough food for the kids",
        "material_help": "i need a winter coat for my daughter",
        "digital": "my son needs a laptop for school",
        "meeting_people": "i am new in leuven and i dont know anyone",
    },
    "ar": {
        "food": "ما عندناش ما ناكلو هاد الشهر",
        "school_costs": "ma3andich flous bach nkhles lmadrasa",
        "homework_help": "ولدي محتاج مساعدة في الواجبات المدرسية",
        "housing": "الدار فيها الرطوبة و مول الدار ما بغاش يصلح",
    },
}


@pytest.mark.parametrize(
    ("lang", "need", "message"),
    [(lang, need, msg) for lang, needs in NEED_MESSAGES.items() for need, msg in needs.items()],
)
async def test_a_need_gets_local_services(
    engine: Engine, lang: str, need: str, message: str
) -> None:
    chat = f"need-{lang}-{need}"
    await press(engine, chat, f"lang:{lang}")  # first contact done, language chosen
    outcome = await text(engine, chat, message)
    assert outcome.intent == need
    assert outcome.language == lang
    if payloads(outcome)[:1] == ["area:leuven-centrum"]:  # the one clarifying question
        assert said(lang, AREA_QUESTION) in outcome.reply
        outcome = await press(engine, chat, "area:kessel-lo")
    assert 1 <= len(outcome.services) <= 3
    assert "handoff:offer" in payloads(outcome)  # never a dead end


async def test_the_area_is_asked_once_and_remembered(engine: Engine) -> None:
    chat = "area-once"
    await press(engine, chat, "lang:nl")
    first = await text(engine, chat, "ik zoek kinderopvang")
    assert said("nl", AREA_QUESTION) in first.reply
    answer = await text(engine, chat, "Heverlee")
    assert answer.services
    again = await text(engine, chat, "waar kan ik goedkoop eten kopen")
    assert said("nl", AREA_QUESTION) not in again.reply
    assert again.services


async def test_an_area_in_the_message_is_not_asked_again(engine: Engine) -> None:
    chat = "area-given"
    await press(engine, chat, "lang:fr")
    outcome = await text(engine, chat, "je cherche une crèche à Kessel-Lo")
    assert said("fr", AREA_QUESTION) not in outcome.reply
    assert outcome.services


async def test_local_services_come_first(engine: Engine) -> None:
    chat = "local-first"
    await press(engine, chat, "lang:nl")
    await press(engine, chat, "area:kessel-lo")
    outcome = await press(engine, chat, "need:food")
    assert outcome.services[0] == "het-perron"  # the social shop in Hal 5, Kessel-Lo


async def test_language_switch_by_button_and_by_writing(engine: Engine) -> None:
    chat = "switch"
    await text(engine, chat, "hallo")
    outcome = await press(engine, chat, "lang:ar")
    assert outcome.language == "ar"
    assert (
        said("ar", "I will write in English from now on. What can I help you with?")
        in outcome.reply
    )
    outcome = await text(engine, chat, "bonjour, je cherche une école de devoirs pour mon fils")
    assert outcome.language == "fr"
    outcome = await text(engine, chat, "ok")
    assert outcome.language == "fr"  # "ok" is no reason to switch


async def test_gibberish_gets_the_menu_then_a_person(engine: Engine) -> None:
    chat = "gibberish"
    await press(engine, chat, "lang:en")
    first = await text(engine, chat, "asdkjh qwpoeiu zxmcnb")
    assert said("en", NOT_UNDERSTOOD) in first.reply
    assert sum(p.startswith("need:") for p in payloads(first)) == 17
    assert not first.services
    second = await text(engine, chat, "blorf wugga zzzt")
    assert second.handoff
    assert "handoff:yes" in payloads(second)


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("nl", "mijn man slaat mij en ik ben bang"),
        ("fr", "je veux mourir je n'en peux plus"),
        ("en", "we have nowhere to sleep tonight"),
        ("ar", "راجلي كيضربني و خايفة"),
        ("ar", "bghit nmout"),
    ],
)
async def test_a_crisis_gets_emergency_numbers_first(
    engine: Engine, lang: str, message: str
) -> None:
    chat = f"crisis-{lang}-{len(message)}"
    await press(engine, chat, f"lang:{lang}")
    outcome = await text(engine, chat, message)
    assert outcome.intent == "safety_crisis"
    assert outcome.handoff and outcome.urgent
    first = outcome.replies[0].text
    assert "112" in first and "1712" in first and "1813" in first
    assert payloads(outcome)[-2:] == ["handoff:yes", "handoff:no"]  # consent before anything


async def test_consent_refused_still_leaves_the_numbers(engine: Engine) -> None:
    chat = "consent-no"
    await press(engine, chat, "lang:nl")
    await text(engine, chat, "ik wil met iemand praten")
    outcome = await press(engine, chat, "handoff:no")
    assert not outcome.handoff
    assert "112" in outcome.reply


async def test_consent_given_asks_for_a_handoff(engine: Engine) -> None:
    chat = "consent-yes"
    await press(engine, chat, "lang:en")
    asked = await text(engine, chat, "can i talk to a real person")
    assert asked.intent == "human_request" and asked.handoff
    assert asked.handoff_request is None  # nothing is passed on before the parent says yes
    outcome = await press(engine, chat, "handoff:yes")
    request = outcome.handoff_request
    assert request is not None
    assert (request.reason, request.urgent, request.language) == ("human_request", False, "en")


@pytest.mark.parametrize(
    "message",
    [
        "ik zoek huiswerkbegeleiding " * 200,  # 5,600 characters
        "\u202eik zoek\u200b eten\u2066 \x00\x07 voor mijn kinderen\u200f",
        "🙏🙏🙏",
        "‎",
        "<b>hallo</b> *eten* _nodig_",
    ],
)
async def test_hostile_input_gets_a_clear_answer(engine: Engine, message: str) -> None:
    chat = f"odd-{abs(hash(message))}"
    await press(engine, chat, "lang:nl")
    outcome = await text(engine, chat, message)
    assert outcome.replies and all(r.text.strip() for r in outcome.replies)
    assert "Traceback" not in outcome.reply


async def test_control_characters_do_not_hide_the_need(engine: Engine) -> None:
    chat = "zero-width"
    await press(engine, chat, "lang:nl")
    outcome = await text(engine, chat, "ik z\u200boek e\u200ften voor mijn kin\u00adderen \x07")
    assert outcome.intent == "food"


async def test_unknown_command_and_forget(engine: Engine) -> None:
    chat = "commands"
    await press(engine, chat, "lang:fr")
    await press(engine, chat, "area:heverlee")
    unknown = await text(engine, chat, "/frobnicate")
    assert any(p.startswith("need:") for p in payloads(unknown))
    mine = await text(engine, chat, "/mydata")
    assert "Heverlee" in mine.reply
    await text(engine, chat, "/forget")
    assert engine.state.load("terminal:commands") is None


async def test_photo_and_voice_go_to_a_person_with_consent(engine: Engine) -> None:
    for kind in ("photo", "voice", "document"):
        outcome = await engine.handle(Incoming(f"media-{kind}", kind=kind, language_hint="ar"))
        assert outcome.handoff
        assert outcome.language == "ar"
        assert "handoff:yes" in payloads(outcome)


async def test_arabic_answer_isolates_dutch_addresses_and_phone_numbers(engine: Engine) -> None:
    chat = "bidi"
    await press(engine, chat, "lang:ar")
    await press(engine, chat, "area:leuven-centrum")
    outcome = await press(engine, chat, "need:school_questions")
    reply = outcome.reply
    assert f"{LRI}016 28 24 00{PDI}" in reply  # VCLB's phone number, isolated left-to-right
    assert "\u2068Karel Van Lotharingenstraat 5, 3000 Leuven\u2069" in reply


async def test_state_survives_a_restart(map_db, rasa_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.conversation.map_provider import MapProvider
    from bot.conversation.state import StateStore
    from bot.nlu.client import NLUClient
    from bot.nlu.understand import Understander

    db = tmp_path / "state.db"
    for round_ in range(2):
        client = NLUClient(rasa_url, timeout=5.0)
        engine = Engine(MapProvider(map_db), Understander(client), StateStore(db))
        if round_ == 0:
            await press(engine, "restart", "lang:ar")
            await press(engine, "restart", "area:wilsele")
        else:
            state = engine.state.load("terminal:restart")
            assert state is not None and state.language == "ar" and state.area == "wilsele"
        await client.aclose()
        engine.state.close()


ALL_NEEDS = [need for need in NEEDS if need != "safety_crisis"]


@pytest.mark.parametrize("lang", ["nl", "fr", "en", "ar"])
@pytest.mark.parametrize("need", ALL_NEEDS)
async def test_every_need_from_the_menu_answers_in_the_parents_language(
    engine: Engine, lang: str, need: str
) -> None:
    chat = f"menu-{lang}-{need}"
    await press(engine, chat, f"lang:{lang}")
    await press(engine, chat, "area:heverlee")
    outcome = await press(engine, chat, f"need:{need}")
    assert 1 <= len(outcome.services) <= 3
    header = Lang(lang).ngettext(
        "I found {n} place for you ({topic}):",
        "I found {n} places for you ({topic}):",
        len(outcome.services),
    )
    assert outcome.reply.startswith(header.split("{")[0])
    assert "handoff:offer" in payloads(outcome)


async def test_forget_with_a_bot_name_erases_and_stays_erased(engine: Engine) -> None:
    """Telegram group commands carry the bot's name: /forget@wegwijsbot."""
    chat = "forget-bot-name"
    await press(engine, chat, "lang:nl")
    await press(engine, chat, "area:wijgmaal")
    await text(engine, chat, "/forget@wegwijsbot")
    assert engine.state.load(f"terminal:{chat}") is None
