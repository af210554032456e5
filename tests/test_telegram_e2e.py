"""End to end on Telegram: the real python-telegram-bot Application, the real Rasa server, and a
fake Bot API server at the network boundary (tests/fakes/telegram_api.py).

Parents write in private chats; bridge workers act in a forum staff group. The clock of the
handoff desk is controllable, so re-announcement and escalation are tested without waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e import JONAS, NADIA, SAMIRA, STAFF, Clock, Message, any_date, buttons, text_of, until

from bot.app import wegwijs
from bot.channels.telegram.config import TelegramConfig
from bot.conversation.i18n import Lang
from bot.handoff.workers import SAMPLE_FILE, load_team
from bot.server import BotServer
from fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.rasa
STRANGER = 777  # not on the bridge workers list


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
def state_path(state_db: Path | str) -> Path | str:
    """Every test here runs on SQLite and on PostgreSQL (``state_db`` in conftest)."""
    return state_db


@pytest.fixture
def run_bot(
    fake: FakeTelegram, rasa_url: str, map_db: Path, state_path: Path | str, clock: Clock
) -> Callable[..., Any]:
    @asynccontextmanager
    async def running(webhook_url: str | None = None) -> AsyncIterator[BotServer]:
        config = TelegramConfig(
            token=fake.token,
            staff_chat_id=STAFF,
            api_base_url=fake.url,
            webhook_url=webhook_url,
            webhook_secret="s3cret-token",
            poll_timeout=1,
        )
        async with (
            wegwijs(
                rasa_url,
                team=load_team(SAMPLE_FILE),
                staff_room=True,
                state_path=state_path,
                map_path=map_db,
                clock=clock,
                nlu_timeout=5.0,
            ) as app,
            BotServer(app, config, tick_every=3600, outbox_idle=0.05) as server,
        ):
            yield server

    return running


def with_button(messages: list[Message], data: str) -> Message:
    return next(m for m in messages if data in buttons(m))


async def hand_off(
    fake: FakeTelegram, parent: int, text: str, lang: str
) -> tuple[int, Message, Message]:
    """A parent asks for a person and consents: returns the topic, its summary, and the
    bot's reply telling the parent who will answer."""
    fake.parent_text(parent, text, language_code=lang)
    consent = await until(fake, parent, lambda m: "handoff:yes" in buttons(m))
    fake.press(parent, consent, "handoff:yes")
    ticket = await until(
        fake, parent, lambda m: any(n in text_of(m) for n in ("Samira", "Jonas", "Nadia"))
    )
    await fake.wait_for_call("createForumTopic")
    topic = max(fake.topics)
    (summary,) = await fake.wait_for_messages(STAFF, 1, thread_id=topic)
    return topic, summary, ticket


FIRST_QUESTIONS = {
    "nl": "ik zoek huiswerkbegeleiding voor mijn zoon",
    "fr": "je cherche une aide aux devoirs pour mon fils",
    "en": "I need homework help for my son",
    "ar": "كنقلب على شي مساعدة فالواجبات المدرسية لولدي",
}


@pytest.mark.parametrize("lang", ["nl", "fr", "en", "ar"])
async def test_a_parent_in_each_language_gets_an_answer(
    fake: FakeTelegram, run_bot: Callable[..., Any], lang: str
) -> None:
    parent = 1000 + len(lang) + ord(lang[0])
    t = Lang(lang)
    async with run_bot():
        fake.parent_text(parent, "/start", language_code=lang)
        welcome = await fake.wait_for_messages(parent, 2)
        assert "lang:ar" in buttons(welcome[0])
        fake.parent_text(parent, FIRST_QUESTIONS[lang], language_code=lang)
        message = await until(fake, parent, lambda m: bool(buttons(m)))
        if "area:heverlee" in buttons(message):  # asked once: which part of Leuven
            fake.press(parent, message, "area:heverlee")
            message = await until(fake, parent, lambda m: "handoff:offer" in buttons(m))
        assert "menu:" in buttons(message) and "handoff:offer" in buttons(message)
        labels = [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
        assert t._("Another question") in labels
        assert "☎" in text_of(message) or "📍" in text_of(message) or "1." in text_of(message)


async def test_handoff_with_consent_pickup_relay_both_ways_and_close(
    fake: FakeTelegram, run_bot: Callable[..., Any]
) -> None:
    parent = 2001
    async with run_bot():
        topic, summary, ticket = await hand_off(
            fake, parent, "I want to talk to a real person please", "en"
        )
        assert "bridge worker" in text_of(ticket)
        assert fake.topics[topic]["name"].startswith("#1 · Engels")
        assert "staff:pickup:1" in buttons(summary)
        assert "talk to a real person" in text_of(summary)  # the conversation so far

        fake.parent_text(parent, "<b>help</b> *now* _please_", language_code="en")
        (relayed,) = await fake.wait_for_messages(STAFF, 1, thread_id=topic)
        assert "<b>help</b> *now* _please_" in text_of(relayed)  # shown literally, not bold
        fake.parent_text(parent, "<" * 4000, language_code="en")  # escaped: 16,000 characters
        received = 0
        while received < 4000:
            (part,) = await fake.wait_for_messages(STAFF, 1, thread_id=topic)
            received += text_of(part).count("<")
        assert received == 4000

        query = fake.press(SAMIRA, summary, "staff:pickup:1", first_name="Samira")
        await fake.wait_for_call(
            "answerCallbackQuery", lambda p: p.get("callback_query_id") == query
        )
        picked = await until(fake, parent, lambda m: "Samira" in text_of(m))
        assert "is now reading your question" in text_of(picked)
        await fake.wait_for_call("editMessageReplyMarkup")
        assert "staff:close:1" in buttons(fake.message(STAFF, summary["message_id"]) or {})

        fake.group_text(
            STAFF, SAMIRA, "Hello! Which school is it?", thread_id=topic, first_name="Samira"
        )
        answer = await until(fake, parent, lambda m: "Which school" in text_of(m))
        assert text_of(answer).startswith("Samira (bridge worker):")
        fake.group_media(STAFF, SAMIRA, "document", thread_id=topic, caption="the form")
        document = await until(fake, parent, lambda m: "document" in m)
        assert "the form" in text_of(document)

        fake.parent_media(parent, "photo", caption="the letter", language_code="en")
        photo = await until(fake, STAFF, lambda m: "photo" in m, thread=topic)
        assert "the letter" in text_of(photo)
        fake.parent_media(parent, "voice", language_code="en")
        await until(fake, STAFF, lambda m: "voice" in m, thread=topic)

        fake.group_text(STAFF, SAMIRA, "/close", thread_id=topic, first_name="Samira")
        closed = await until(fake, parent, lambda m: "closed this conversation" in text_of(m))
        assert "handoff:offer" in buttons(closed)
        await fake.wait_for_call("closeForumTopic")
        assert fake.topics[topic]["closed"]

        fake.parent_text(parent, "thank you!", language_code="en")
        back = await until(fake, parent, lambda m: True)
        assert "Samira" not in text_of(back)  # the bot answers again


async def test_consent_refused_shares_nothing(
    fake: FakeTelegram, run_bot: Callable[..., Any]
) -> None:
    parent = 2002
    async with run_bot():
        fake.parent_text(parent, "ik wil met iemand praten", language_code="nl")
        consent = await until(fake, parent, lambda m: "handoff:no" in buttons(m))
        fake.press(parent, consent, "handoff:no")
        refused = await until(fake, parent, lambda m: "112" in text_of(m))
        assert "menu:" in buttons(refused)
        fake.parent_text(parent, "mijn adres is geheim", language_code="nl")
        await fake.wait_for_messages(parent, 1)
    assert fake.topics == {}
    assert fake.sent(STAFF) == []


async def test_someone_who_is_not_a_worker_cannot_pick_up_or_reply(
    fake: FakeTelegram, run_bot: Callable[..., Any]
) -> None:
    parent = 2003
    async with run_bot():
        topic, summary, _ = await hand_off(fake, parent, "I want to talk to a person", "en")

        query = fake.press(STRANGER, summary, "staff:pickup:1", first_name="Curious")
        answered = await fake.wait_for_call(
            "answerCallbackQuery", lambda p: p.get("callback_query_id") == query
        )
        assert answered.get("show_alert") and "Alleen brugfiguren" in answered.get("text", "")
        fake.group_text(STAFF, STRANGER, "hi parent, send me money", thread_id=topic)
        fake.group_text(STAFF, STRANGER, "/close", thread_id=topic)
        # A listed worker's message afterwards is the first thing the parent gets.
        fake.group_text(STAFF, JONAS, "Dag, ik ben Jonas.", thread_id=topic)
        picked = await until(fake, parent, lambda m: True)
        assert "Jonas" in text_of(picked) and "money" not in text_of(picked)
        relayed = await until(fake, parent, lambda m: True)
        assert "Dag, ik ben Jonas." in text_of(relayed)
    assert all("money" not in text_of(m) for m in fake.sent(parent))


async def test_a_restart_in_the_middle_of_a_handoff_loses_nothing(
    fake: FakeTelegram, run_bot: Callable[..., Any]
) -> None:
    parent = 2004
    async with run_bot():
        topic, summary, _ = await hand_off(fake, parent, "Je veux parler à une personne", "fr")
        fake.press(SAMIRA, summary, "staff:pickup:1")
        await until(fake, parent, lambda m: "Samira" in text_of(m))
    # The bot is down: people go on writing.
    fake.parent_text(parent, "vous êtes là ?", language_code="fr")
    fake.group_text(STAFF, SAMIRA, "Oui, je suis là.", thread_id=topic)
    async with run_bot():
        relayed = await until(fake, STAFF, lambda m: "vous êtes là" in text_of(m), thread=topic)
        assert relayed
        answer = await until(fake, parent, lambda m: "Oui, je suis là." in text_of(m))
        assert "Samira" in text_of(answer)
    assert len([m for m in fake.sent(parent) if "Oui, je suis là." in text_of(m)]) == 1
    assert len(fake.topics) == 1


@any_date
async def test_unclaimed_handoffs_are_announced_again_then_escalated(
    fake: FakeTelegram, run_bot: Callable[..., Any], clock: Clock
) -> None:
    parent = 2005
    async with run_bot() as server:
        await hand_off(fake, parent, "I want to talk to a person", "en")
        clock.now += timedelta(minutes=31)
        server.app.desk.tick()
        again = await until(fake, STAFF, lambda m: "wacht al" in text_of(m))
        assert "31 minuten" in text_of(again) and "staff:pickup:1" in buttons(again)
        clock.now += timedelta(minutes=90)
        server.app.desk.tick()
        escalated = await until(fake, STAFF, lambda m: "uur" in text_of(m))
        assert "Nadia" in text_of(escalated) and "2 uur" in text_of(escalated)  # the coordinator
        assert any(
            e["type"] in ("text_mention", "text_link") for e in escalated.get("entities", [])
        )
        fake.press(NADIA, again, "staff:pickup:1")
        await until(fake, parent, lambda m: "Nadia" in text_of(m))


async def test_group_rate_limits_are_waited_out_and_nothing_is_dropped(
    fake: FakeTelegram, run_bot: Callable[..., Any]
) -> None:
    parent = 2006
    async with run_bot():
        topic, _, _ = await hand_off(fake, parent, "I want to talk to a person", "en")
        fake.fail_next("sendMessage", status=429, retry_after=1, times=3)
        for n in range(8):
            fake.parent_text(parent, f"message {n}", language_code="en")
        seen: list[str] = []
        while len(seen) < 8:
            (message,) = await fake.wait_for_messages(STAFF, 1, thread_id=topic, timeout=20)
            seen += [line for line in text_of(message).splitlines() if "message " in line]
        assert [line.split("message ")[1] for line in seen] == [str(n) for n in range(8)]
        assert fake.failed_calls  # the 429s happened


async def test_webhook_mode_checks_the_secret_token(
    fake: FakeTelegram, run_bot: Callable[..., Any]
) -> None:
    parent = 2007
    async with run_bot(webhook_url="https://wegwijs.example.org") as server:
        hook = await fake.wait_for_call("setWebhook")
        assert hook["url"] == "https://wegwijs.example.org/telegram/webhook"
        update = {"update_id": 1, "message": fake.parent_text(parent, "/start", language_code="en")}
        transport = httpx.ASGITransport(app=server.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            forged = await client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
            )
            assert forged.status_code == 401
            missing = await client.post("/telegram/webhook", json=update)
            assert missing.status_code == 401
            junk = await client.post(
                "/telegram/webhook",
                content=b"{not json",
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
            )
            assert junk.status_code == 400
            assert fake.sent(parent) == []
            good = await client.post(
                "/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
            )
            assert good.status_code == 200
            await fake.wait_for_messages(parent, 2)
            health = await client.get("/healthz")
            assert health.status_code == 200
            assert health.json()["channels"]["telegram"]["mode"] == "webhook"


async def test_a_crisis_is_handed_off_as_urgent_with_the_numbers_first(
    fake: FakeTelegram, run_bot: Callable[..., Any]
) -> None:
    parent = 2008
    async with run_bot():
        fake.parent_text(parent, "mijn man slaat me en ik ben bang", language_code="nl")
        numbers = await until(fake, parent, lambda m: "112" in text_of(m))
        assert "1712" in text_of(numbers)
        consent = await until(fake, parent, lambda m: "handoff:yes" in buttons(m))
        fake.press(parent, consent, "handoff:yes")
        ticket = await until(fake, parent, lambda m: "112" in text_of(m))
        assert "brugfiguur" in text_of(ticket)
        await fake.wait_for_call("createForumTopic")
        topic = max(fake.topics)
        assert fake.topics[topic]["name"].startswith("🚨 #1")
        (summary,) = await fake.wait_for_messages(STAFF, 1, thread_id=topic)
        assert "DRINGEND" in text_of(summary) and "Nadia" in text_of(summary)  # coordinator


async def test_a_photo_of_a_letter_reaches_the_topic_after_consent(
    fake: FakeTelegram, run_bot: Callable[..., Any]
) -> None:
    parent = 2009
    async with run_bot():
        fake.parent_media(parent, "photo", caption="wat staat hier?", language_code="nl")
        consent = await until(fake, parent, lambda m: "handoff:yes" in buttons(m))
        assert fake.sent(STAFF) == []  # nothing shared before consent
        fake.press(parent, consent, "handoff:yes")
        await fake.wait_for_call("createForumTopic")
        topic = max(fake.topics)
        summary, photo = await fake.wait_for_messages(STAFF, 2, thread_id=topic)
        assert "foto" in text_of(summary)  # the reason
        assert "photo" in photo and "wat staat hier?" in text_of(photo)
