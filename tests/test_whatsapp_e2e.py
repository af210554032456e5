"""End to end on WhatsApp: Meta's webhooks arrive over real HTTP at the bot's ASGI app, the bot
answers through a fake Graph API (tests/fakes/graph_api.py), the real Rasa server understands,
and bridge workers act in the fake Telegram staff group.

The fake Graph API and the bot share the bot's one clock, so the 24-hour window can be crossed
without waiting a day, at any date.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e import SAMIRA, STAFF, Clock, Message, any_date, named, offers
from e2e import wa_until as until

from bot.app import Wegwijs, wegwijs
from bot.channels.telegram.config import TelegramConfig
from bot.channels.whatsapp.config import WhatsAppConfig
from bot.conversation.i18n import Lang
from bot.handoff.workers import SAMPLE_FILE, load_team
from bot.server import BotServer
from fakes.graph_api import FakeGraph
from fakes.serving import serving
from fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.rasa
text_of = FakeGraph.text_of
choices_of = FakeGraph.choices_of


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
async def graph(clock: Clock) -> AsyncIterator[FakeGraph]:
    async with FakeGraph(now=clock.timestamp) as server:
        yield server


class Running:
    def __init__(self, server: BotServer, app: Wegwijs, url: str) -> None:
        self.server, self.app, self.url = server, app, url


@pytest.fixture
def run_bot(
    telegram: FakeTelegram,
    graph: FakeGraph,
    clock: Clock,
    rasa_url: str,
    map_db: Path,
    state_db: Path | str,
) -> Callable[[], Any]:
    """Every test here runs on SQLite and on PostgreSQL (``state_db`` in conftest)."""

    @asynccontextmanager
    async def running() -> AsyncIterator[Running]:
        tg = TelegramConfig(
            token=telegram.token, staff_chat_id=STAFF, api_base_url=telegram.url, poll_timeout=1
        )
        wa = WhatsAppConfig(
            token="TEST-WA-TOKEN",
            phone_number_id="1000001",
            app_secret="test-app-secret",
            verify_token="test-verify-token",
            api_base_url=graph.api_base_url,
        )
        async with (
            wegwijs(
                rasa_url,
                team=load_team(SAMPLE_FILE),
                staff_room=True,
                state_path=state_db,
                map_path=map_db,
                clock=clock,
                nlu_timeout=5.0,
            ) as app,
            BotServer(app, tg, wa, tick_every=3600, outbox_idle=0.05) as server,
            serving(server.asgi()) as url,
        ):
            graph.webhook_url = f"{url}/whatsapp/webhook"
            yield Running(server, app, url)

    return running


async def quiet(graph: FakeGraph, parent: str, seconds: float = 0.4) -> None:
    """Nothing more arrives for this parent (the outbox runs every 50 ms)."""
    before = len(graph.sent(parent))
    await asyncio.sleep(seconds)
    assert graph.sent(parent)[before:] == []


async def hand_off(
    telegram: FakeTelegram, graph: FakeGraph, parent: str, text: str
) -> tuple[int, Message]:
    """The parent asks for a person and consents; returns the topic and its summary."""
    await graph.parent_text(parent, text)
    await until(graph, parent, lambda m: offers(m, "handoff:yes"))
    await graph.parent_choose(parent, "handoff:yes")
    await until(graph, parent, lambda m: named(text_of(m)))
    await telegram.wait_for_call("createForumTopic")
    topic = max(telegram.topics)
    (summary,) = await telegram.wait_for_messages(STAFF, 1, thread_id=topic)
    return topic, summary


async def test_meta_verifies_the_webhook_with_our_token_only(
    graph: FakeGraph, run_bot: Callable[[], Any]
) -> None:
    async with run_bot():
        good = await graph.verify(challenge="1158201444")
        assert (good.status_code, good.text) == (200, "1158201444")
        assert (await graph.verify(token="guess")).status_code == 403
        assert (await graph.verify(mode="unsubscribe")).status_code == 403


async def test_only_signed_webhooks_are_stored_or_answered(
    graph: FakeGraph, run_bot: Callable[[], Any]
) -> None:
    parent = "32470000101"
    async with run_bot() as bot:
        signed = FakeGraph.encode(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": "2000001",
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {
                                        "display_phone_number": "32470000000",
                                        "phone_number_id": "1000001",
                                    },
                                    "messages": [
                                        {
                                            "from": parent,
                                            "id": "wamid.forged",
                                            "timestamp": str(int(graph.now())),
                                            "type": "text",
                                            "text": {"body": "hallo"},
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
        )
        forged = await graph.post_webhook(signed, signature="sha256=" + "0" * 64)
        missing = await graph.post_webhook(signed, signature=None)
        tampered = await graph.post_webhook(
            signed.replace(b"hallo", b"HALLO"), signature=graph.sign(signed)
        )
        assert [r.status_code for r in (forged, missing, tampered)] == [401, 401, 401]
        junk = await graph.post_webhook(b"{not json", signature="valid")
        assert junk.status_code == 400
        await quiet(graph, parent)
        chat = f"whatsapp:{parent}"
        assert bot.app.state.load(chat) is None  # nothing stored
        assert bot.app.state.last_heard(chat) == (None, None)

        graph.open_window(parent)  # Meta would: the parent did write
        ok = await graph.post_webhook(signed, signature="valid")
        assert ok.status_code == 200
        await graph.wait_for_messages(parent, 1)


@pytest.mark.parametrize(
    "lang, question",
    [
        ("nl", "ik zoek huiswerkbegeleiding voor mijn zoon"),
        ("fr", "je cherche une aide aux devoirs pour mon fils"),
        ("en", "I need homework help for my son"),
        ("ar", "كنقلب على شي مساعدة فالواجبات المدرسية لولدي"),
    ],
)
async def test_a_parent_gets_the_same_answer_as_on_telegram(
    telegram: FakeTelegram, graph: FakeGraph, run_bot: Callable[[], Any], lang: str, question: str
) -> None:
    """Same engine, same state, same words: only the buttons take WhatsApp's shape."""
    parent, tg_parent = f"3247000{ord(lang[0]):04d}", 3000 + ord(lang[0])
    t = Lang(lang)
    more = t._("More choices:")
    async with run_bot():
        await graph.parent_text(parent, question)
        telegram.parent_text(tg_parent, question, language_code=None)  # WhatsApp gives no hint
        on_whatsapp: list[str] = []
        on_telegram: list[str] = []
        for _ in range(8):
            wa_reply = await until(graph, parent, lambda m: text_of(m) != more)
            (tg_reply,) = await telegram.wait_for_messages(tg_parent, 1)
            on_whatsapp.append(text_of(wa_reply))
            on_telegram.append(tg_reply["text"])
            if offers(wa_reply, "area:heverlee"):  # asked once: which part of Leuven
                await graph.parent_choose(parent, "area:heverlee")
                telegram.press(tg_parent, tg_reply, "area:heverlee")
            if offers(wa_reply, "handoff:offer"):
                break
        assert on_whatsapp == on_telegram
        assert t._("Another question") in choices_of(wa_reply)


async def test_the_topic_menu_comes_as_lists_and_a_choice_is_answered(
    graph: FakeGraph, run_bot: Callable[[], Any]
) -> None:
    parent = "32470000102"
    async with run_bot():
        await graph.parent_text(parent, "/menu")
        menus = [await until(graph, parent, lambda m: m["type"] == "interactive")]
        menus += await graph.wait_for_messages(parent, 1)
        assert [m["interactive"]["type"] for m in menus] == ["list", "list"]
        assert sum(len(choices_of(m)) for m in menus) >= 17
        await graph.parent_choose(parent, "need:food")
        area = await until(graph, parent, lambda m: offers(m, "area:kessel-lo"))
        assert text_of(area).startswith("In welk deel van Leuven")
        await graph.parent_choose(parent, "Kessel-Lo")  # by its title, as a parent sees it
        answer = await until(graph, parent, lambda m: offers(m, "handoff:offer"))
        assert "Voedsel" in text_of(answer) or "☎" in text_of(answer) or "📍" in text_of(answer)


async def test_a_message_delivered_twice_is_answered_once_and_statuses_never(
    graph: FakeGraph, run_bot: Callable[[], Any]
) -> None:
    parent = "32470000103"
    async with run_bot():
        first = await graph.parent_text(parent, "hallo")
        replies = await until(graph, parent, lambda m: m["type"] == "interactive")
        await asyncio.sleep(0.3)
        count = len(graph.sent(parent))
        again = await graph.redeliver(first)
        assert again.status_code == 200
        for status in ("sent", "delivered", "read"):
            assert (await graph.status(parent, replies["id"], status)).status_code == 200
        await quiet(graph, parent)
        assert len(graph.sent(parent)) == count


async def test_handoff_relays_both_ways_with_files_and_closes(
    telegram: FakeTelegram,
    graph: FakeGraph,
    run_bot: Callable[[], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # what production logs
    parent = "32470000104"
    async with run_bot():
        topic, summary = await hand_off(telegram, graph, parent, "ik wil met iemand praten")
        assert "WhatsApp" in summary["text"]
        assert parent not in summary["text"] and parent not in telegram.topics[topic]["name"]

        await graph.parent_text(parent, "*dringend*, het gaat over de school")
        (relayed,) = await telegram.wait_for_messages(STAFF, 1, thread_id=topic)
        assert "*dringend*, het gaat over de school" in relayed["text"]
        letter = b"%PDF-1.4 a letter from school" * 100
        await graph.parent_media(
            parent,
            "document",
            letter,
            "application/pdf",
            caption="deze brief",
            filename="brief.pdf",
        )
        photo = b"\xff\xd8\xff\xe0 a photo" * 50
        await graph.parent_media(parent, "image", photo, "image/jpeg")
        await graph.parent_media(parent, "audio", b"OggS voice" * 30, "audio/ogg", voice=True)
        posted = await telegram.wait_for_messages(STAFF, 3, thread_id=topic)
        assert [next(k for k in ("document", "photo", "voice") if k in m) for m in posted] == [
            "document",
            "photo",
            "voice",
        ]
        assert posted[0]["document"]["file_name"] == "brief.pdf"
        assert posted[0]["document"]["file_size"] == len(letter)
        assert "deze brief" in posted[0]["caption"]
        assert max(p["file_size"] for p in posted[1]["photo"]) == len(photo)

        telegram.group_text(STAFF, SAMIRA, "Dag! Welke school is het?", thread_id=topic)
        answer = await until(graph, parent, lambda m: "Welke school" in text_of(m))
        assert text_of(answer).startswith("Samira")
        document = telegram.group_media(
            STAFF, SAMIRA, "document", thread_id=topic, caption="het formulier"
        )
        sent_file = await until(graph, parent, lambda m: m["type"] == "document")
        assert sent_file["document"]["caption"].endswith("het formulier")
        content, _mime, _name = graph.uploads[sent_file["document"]["id"]]
        assert len(content) == document["document"]["file_size"]
        telegram.group_media(STAFF, SAMIRA, "voice", thread_id=topic)
        voice = await until(graph, parent, lambda m: m["type"] == "audio")
        assert "caption" not in voice["audio"]

        telegram.group_text(STAFF, SAMIRA, "/close", thread_id=topic)
        closed = await until(graph, parent, lambda m: offers(m, "handoff:offer"))
        assert "Samira" in text_of(closed)
        await graph.parent_text(parent, "dank je!")
        back = await until(graph, parent, lambda m: True)
        assert not text_of(back).startswith("Samira")  # the bot answers again
    logged = caplog.text
    assert "handoff 1 opened" in logged  # the log is on, and says nothing about who or what
    for secret in (parent, "dringend", "iemand praten", "Welke school", "brief.pdf", "dank je"):
        assert secret not in logged


@any_date
async def test_after_24_hours_the_answer_waits_for_the_parent_and_the_worker_is_told(
    telegram: FakeTelegram, graph: FakeGraph, run_bot: Callable[[], Any], clock: Clock
) -> None:
    parent = "32470000105"
    async with run_bot():
        await graph.parent_text(parent, "je veux parler à quelqu'un s'il vous plaît")
        await until(graph, parent, lambda m: offers(m, "handoff:yes"))
        await graph.parent_choose(parent, "handoff:yes")
        await until(graph, parent, lambda m: named(text_of(m)))
        await telegram.wait_for_call("createForumTopic")
        topic = max(telegram.topics)
        await telegram.wait_for_messages(STAFF, 1, thread_id=topic)

        clock.now += timedelta(hours=25)  # the parent has been silent for a day
        telegram.group_text(STAFF, SAMIRA, "Bonjour, voici la réponse", thread_id=topic)
        telegram.group_text(STAFF, SAMIRA, "et encore une chose", thread_id=topic)
        (template,) = await graph.wait_for_messages(parent, 1)
        assert template["type"] == "template"
        assert template["template"]["name"] == "wegwijs_answer_waiting"
        assert template["template"]["language"]["code"] == "fr"
        assert template["template"]["components"][0]["parameters"][0]["text"] == "Samira"
        note = await until_staff(telegram, topic, "24 uur")
        assert "zodra de ouder terugschrijft" in note["text"]
        await quiet(graph, parent)  # one template, and the answers are held
        assert graph.window_violations == []

        await graph.parent_template_reply(parent, "Voir la réponse")
        held = [text_of(m) for m in await graph.wait_for_messages(parent, 3)]
        assert "lit maintenant votre question" in held[0]  # picked up, then the two answers
        assert held[1].endswith("Bonjour, voici la réponse")
        assert held[2].endswith("et encore une chose")
        assert graph.window_violations == []


async def until_staff(telegram: FakeTelegram, topic: int, needle: str) -> Message:
    for _ in range(10):
        (message,) = await telegram.wait_for_messages(STAFF, 1, thread_id=topic)
        if needle in (message.get("text") or ""):
            return message
    raise AssertionError(f"no staff message with {needle!r}")


async def test_graph_api_errors_are_retried_in_order_and_nothing_is_lost(
    graph: FakeGraph, run_bot: Callable[[], Any]
) -> None:
    parent = "32470000106"
    async with run_bot():
        graph.fail_next("messages", status=500, times=2)
        await graph.parent_text(parent, "/start")
        welcome = await graph.wait_for_messages(parent, 2)
        assert [m["type"] for m in welcome] == ["text", "interactive"] or len(welcome) == 2
        assert [status for _, status in graph.failed_calls[:2]] == [500, 500]
        graph.fail_next("messages", status=429, times=1)
        await graph.parent_text(parent, "ik zoek voedselhulp")
        await until(graph, parent, lambda m: m["type"] == "interactive")
        assert any(status == 429 for _, status in graph.failed_calls)


async def test_a_file_that_cannot_cross_over_is_reported_not_lost_silently(
    telegram: FakeTelegram, graph: FakeGraph, run_bot: Callable[[], Any]
) -> None:
    parent = "32470000107"
    async with run_bot():
        topic, _ = await hand_off(telegram, graph, parent, "ik wil met iemand praten")
        graph.fail_next("download", status=404, code=100)  # the parent's file is gone at Meta
        await graph.parent_media(parent, "image", b"\xff\xd8 photo", "image/jpeg")
        note = await until_staff(telegram, topic, "niet kon doorsturen")
        assert note["text"].startswith("👤")

        graph.fail_next("media", status=400, code=131053)  # WhatsApp refuses the worker's file
        telegram.group_media(STAFF, SAMIRA, "document", thread_id=topic)
        warning = await until_staff(telegram, topic, "kon niet bij de ouder geraken")
        assert warning["text"].startswith("⚠️")
        telegram.group_text(STAFF, SAMIRA, "Lukt het zo?", thread_id=topic)
        await until(graph, parent, lambda m: "Lukt het zo?" in text_of(m))  # the chat goes on
