"""Checking back with parents (issue 17): after the bot suggested services it may ask once
whether it may check back; a few days later it asks "did you reach ...?", counts the answer
anonymously per service, and "no, I would like a person" offers the bridge worker. After a
handoff closes, one tap says whether it helped.

End to end on both channels (the real bot and Rasa, the fakes of Telegram and the Graph API),
with the bot's clock moved on by days; WhatsApp's check-back outside the 24-hour window goes
as the approved template, whose quick-reply buttons carry our answers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e import SAMIRA, STAFF, Clock, Message, any_date, buttons, named, offers, text_of, until
from e2e import wa_until as wa_until

from bot.app import Wegwijs, wegwijs
from bot.channels.telegram.config import TelegramConfig
from bot.channels.whatsapp.config import WhatsAppConfig
from bot.conversation.engine import Engine
from bot.conversation.map_provider import MapProvider
from bot.conversation.messages import Incoming
from bot.conversation.state import StateStore
from bot.followup.checkback import CheckBackPolicy, CheckBacks
from bot.handoff.workers import SAMPLE_FILE, load_team
from bot.nlu.client import NLUClient
from bot.nlu.understand import Understander
from bot.retention import Retention
from bot.server import BotServer
from fakes.graph_api import FakeGraph
from fakes.serving import serving
from fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.rasa
FOOD_NL = "ik zoek een sociale kruidenier"


def table(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


# -- the engine: offered once, no means no, erased by /forget and the purge ---------------------


@pytest.fixture
async def engine(map_db: Path, rasa_url: str, clock: Clock) -> AsyncIterator[Engine]:
    client = NLUClient(rasa_url, timeout=5.0)
    state = StateStore(":memory:", clock)
    yield Engine(MapProvider(map_db), Understander(client), state, 30, CheckBacks(state))
    await client.aclose()
    state.close()


async def ask_food(engine: Engine, chat: str) -> list[str]:
    await engine.handle(Incoming(chat, kind="button", payload="lang:nl"))
    await engine.handle(Incoming(chat, kind="button", payload="area:kessel-lo"))
    outcome = await engine.handle(Incoming(chat, FOOD_NL))
    assert outcome.services, outcome.reply
    return [b.payload for reply in outcome.replies for row in reply.buttons for b in row]


async def test_the_check_back_is_offered_once_and_no_means_no(engine: Engine) -> None:
    assert "checkback:plan" in await ask_food(engine, "cb-1")
    again = await engine.handle(Incoming("cb-1", "en waar kan ik goedkope kleren vinden"))
    assert "checkback:plan" not in [
        b.payload for r in again.replies for row in r.buttons for b in row
    ]
    no = await engine.handle(Incoming("cb-1", kind="button", payload="checkback:skip"))
    assert "niet" in no.reply
    engine.clock.now += timedelta(days=6)  # type: ignore[attr-defined]
    assert engine.checkbacks.take_due() == []


@any_date
async def test_a_planned_check_is_asked_after_five_days_and_counted_per_service(
    engine: Engine, clock: Clock
) -> None:
    await ask_food(engine, "cb-2")
    planned = await engine.handle(Incoming("cb-2", kind="button", payload="checkback:plan"))
    assert "5 dagen" in planned.reply
    clock.now += timedelta(days=4, hours=23)
    assert engine.checkbacks.take_due() == []
    clock.now += timedelta(hours=2)
    (check,) = engine.checkbacks.take_due()
    assert engine.checkbacks.take_due() == []  # asked once
    state = engine.state.load("terminal:cb-2")
    assert state is not None and check.services == tuple(state.last_services.split(","))  # type: ignore[union-attr]
    thanks = await engine.handle(
        Incoming("cb-2", kind="button", payload=f"checkback:reached:{check.id}")
    )
    assert "Fijn" in thanks.reply
    twice = await engine.handle(
        Incoming("cb-2", kind="button", payload=f"checkback:reached:{check.id}")
    )
    assert "al" in twice.reply  # counted once
    db, _ = engine.state.connection
    counts = db.execute("SELECT service, answer, count FROM checkback_answers").fetchall()
    assert sorted(tuple(r) for r in counts) == sorted(
        (service, "reached", 1) for service in check.services
    )
    assert db.execute("SELECT COUNT(*) FROM checkbacks").fetchone()[0] == 0


async def test_someone_elses_or_a_forged_check_is_not_counted(engine: Engine) -> None:
    await ask_food(engine, "cb-3")
    await engine.handle(Incoming("cb-3", kind="button", payload="checkback:plan"))
    engine.clock.now += timedelta(days=5)  # type: ignore[attr-defined]
    (check,) = engine.checkbacks.take_due()
    for chat, payload in (
        ("cb-other", f"checkback:reached:{check.id}"),
        ("cb-3", "checkback:reached:" + "9" * 30),
        ("cb-3", f"checkback:maybe:{check.id}"),
    ):
        outcome = await engine.handle(Incoming(chat, kind="button", payload=payload))
        assert outcome.replies  # a clear answer, never an error
    db, _ = engine.state.connection
    assert db.execute("SELECT COUNT(*) FROM checkback_answers").fetchone()[0] == 0


@any_date
async def test_forget_and_the_retention_purge_cancel_a_planned_check(
    engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    await ask_food(engine, "cb-4")
    await engine.handle(Incoming("cb-4", kind="button", payload="checkback:plan"))
    await engine.handle(Incoming("cb-4", "/forget"))
    clock.now += timedelta(days=5)
    assert engine.checkbacks.take_due() == []

    await ask_food(engine, "cb-5")
    await engine.handle(Incoming("cb-5", kind="button", payload="checkback:plan"))
    state = engine.state
    state.purge(
        handoff_ids=[],
        idle_before=clock.now + timedelta(days=1),  # as if the retention time were over
        seen_before=clock.now,
        window_before=0,
    )
    clock.now += timedelta(days=5)
    assert engine.checkbacks.take_due() == []


def test_a_bad_setting_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.followup.checkback import CheckBackError

    monkeypatch.setenv("WEGWIJS_CHECKBACK_DAYS", "a week")
    with pytest.raises(CheckBackError, match="WEGWIJS_CHECKBACK_DAYS"):
        CheckBackPolicy.from_env()
    monkeypatch.setenv("WEGWIJS_CHECKBACK_DAYS", "0")
    assert not CheckBacks(StateStore(":memory:"), CheckBackPolicy.from_env()).enabled


# -- end to end on Telegram and WhatsApp --------------------------------------------------------


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
async def graph(clock: Clock) -> AsyncIterator[FakeGraph]:
    async with FakeGraph(now=clock.timestamp) as server:
        yield server


@pytest.fixture
def run_bot(
    telegram: FakeTelegram,
    graph: FakeGraph,
    clock: Clock,
    rasa_url: str,
    map_db: Path,
    tmp_path: Path,
) -> Callable[[], Any]:
    @asynccontextmanager
    async def running() -> AsyncIterator[Wegwijs]:
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
                state_path=tmp_path / "state.db",
                map_path=map_db,
                clock=clock,
                nlu_timeout=5.0,
                retention=Retention(30),
                checkback_policy=CheckBackPolicy(5),
            ) as app,
            BotServer(app, tg, wa, tick_every=3600, outbox_idle=0.05, checkback_every=0.05) as s,
            serving(s.asgi()) as url,
        ):
            graph.webhook_url = f"{url}/whatsapp/webhook"
            yield app

    return running


def with_button(messages: list[Message], data: str) -> Message:
    return next(m for m in messages if data in buttons(m))


@any_date
async def test_telegram_check_back_then_a_handoff_closes_and_one_tap_says_it_helped(
    telegram: FakeTelegram, run_bot: Callable[[], Any], clock: Clock, tmp_path: Path
) -> None:
    parent = 7001
    async with run_bot():
        telegram.parent_text(parent, "/start", language_code="fr")
        telegram.parent_text(parent, "je cherche une épicerie sociale à Kessel-Lo")
        offer = await until(telegram, parent, lambda m: "checkback:plan" in buttons(m))
        assert "5 jours" in text_of(offer)
        telegram.press(parent, offer, "checkback:plan")
        await until(telegram, parent, lambda m: "dans 5 jours" in text_of(m))

        clock.now += timedelta(days=5, minutes=1)
        question = await until(telegram, parent, lambda m: "checkback:not_yet:1" in buttons(m))
        assert "Avez-vous pu les joindre" in text_of(question)
        assert set(buttons(question)) == {
            f"checkback:{a}:1" for a in ("reached", "not_yet", "person")
        }
        telegram.press(parent, question, "checkback:person:1")
        consent = await until(telegram, parent, lambda m: "handoff:yes" in buttons(m))
        telegram.press(parent, consent, "handoff:yes")
        await until(telegram, parent, lambda m: named(text_of(m)))
        await telegram.wait_for_call("createForumTopic")
        topic = max(telegram.topics)
        (summary,) = await telegram.wait_for_messages(STAFF, 1, thread_id=topic)
        assert "na enkele dagen" in text_of(summary)  # the reason, for the worker

        telegram.group_text(STAFF, SAMIRA, "/close", thread_id=topic)
        closed = await until(telegram, parent, lambda m: "helped:yes:1" in buttons(m))
        telegram.press(parent, closed, "helped:yes:1")
        await until(telegram, parent, lambda m: "Merci de nous l'avoir dit" in text_of(m))
        telegram.press(parent, closed, "helped:yes:1")  # a double tap counts once
        await until(telegram, parent, lambda m: "Merci de nous l'avoir dit" in text_of(m))

    state = tmp_path / "state.db"
    answers = table(state, "SELECT answer, SUM(count) FROM checkback_answers GROUP BY answer")
    assert [a for a, _ in answers] == ["person"]
    assert table(state, "SELECT answer, count FROM helped_counts") == [("yes", 1)]
    assert table(state, "SELECT COUNT(*) FROM checkbacks") == [(0,)]


@any_date
async def test_whatsapp_check_back_outside_the_window_goes_as_the_template(
    graph: FakeGraph, run_bot: Callable[[], Any], clock: Clock, tmp_path: Path
) -> None:
    parent = "32470007002"
    async with run_bot():
        await graph.parent_text(parent, "ik zoek een sociale kruidenier in Kessel-Lo")
        await wa_until(graph, parent, lambda m: offers(m, "checkback:plan"))
        await graph.parent_choose(parent, "checkback:plan")
        await wa_until(graph, parent, lambda m: "5 dagen" in graph.text_of(m))

        clock.now += timedelta(days=5, minutes=1)  # the 24-hour window closed long ago
        template = await wa_until(graph, parent, lambda m: m.get("type") == "template")
        assert template["template"]["name"] == "wegwijs_checkback"
        assert template["template"]["language"]["code"] == "nl"
        body = template["template"]["components"][0]["parameters"][0]["text"]
        assert body  # the names of the suggested services
        assert graph.window_violations == []

        await graph.parent_template_button(parent, 0)  # "yes, I reached them"
        thanks = await wa_until(graph, parent, lambda m: "Fijn" in graph.text_of(m))
        assert thanks["type"] in ("text", "interactive")  # the window is open again
    state = tmp_path / "state.db"
    assert {a for (a,) in table(state, "SELECT answer FROM checkback_answers")} == {"reached"}
    assert table(state, "SELECT COUNT(*) FROM checkbacks") == [(0,)]
