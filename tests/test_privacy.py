"""Privacy, end to end: what the bot keeps, for how long, what /forget erases, and what the
logs say (nothing about who wrote or what they wrote).

Both channels run at once against their fake platforms (tests/fakes/), with the real Rasa
server, the real python-telegram-bot staff group and the production logging set-up.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from e2e import SAMIRA, STAFF, Clock, any_date, buttons, named, offers, text_of, until, wa_until

from bot.app import Wegwijs, wegwijs
from bot.channels.telegram.config import TelegramConfig
from bot.channels.whatsapp.config import WhatsAppConfig
from bot.cli import main
from bot.conversation.engine import Engine
from bot.conversation.messages import Incoming
from bot.db import open_database
from bot.handoff.workers import SAMPLE_FILE, load_team
from bot.logs import configure
from bot.retention import Retention
from bot.server import BotServer
from fakes.graph_api import FakeGraph
from fakes.serving import serving
from fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.rasa
TG_PARENT = 5550001234  # invented
WA_PARENT = "32470009999"  # invented
SECRETS = {
    "tg_token": "",  # filled in from the fake
    "wa_token": "TEST-WA-TOKEN-7f3a",
    "app_secret": "test-app-secret-9b1c",
    "verify": "test-verify-token-2d4e",
}


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
async def graph(clock: Clock) -> AsyncIterator[FakeGraph]:
    async with FakeGraph(
        app_secret=SECRETS["app_secret"],
        token=SECRETS["wa_token"],
        verify_token=SECRETS["verify"],
        now=clock.timestamp,  # Meta stamps webhooks with the same time as the bot's clock
    ) as server:
        yield server


@pytest.fixture
def state_path(state_db: Path | str) -> Path | str:
    """Every test here runs on SQLite and on PostgreSQL (``state_db`` in conftest)."""
    return state_db


@pytest.fixture
def log_output() -> Iterator[tuple[io.StringIO, list[logging.LogRecord]]]:
    """The production log set-up (INFO, JSON) writing into a buffer, plus every raw record."""
    buffer = io.StringIO()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    ours = configure(logging.INFO, "json", stream=buffer)
    keep = Keep(logging.INFO)
    logging.getLogger().addHandler(keep)
    yield buffer, records
    logging.getLogger().removeHandler(keep)
    logging.getLogger().removeHandler(ours)


@pytest.fixture
def run_bot(
    telegram: FakeTelegram,
    graph: FakeGraph,
    clock: Clock,
    rasa_url: str,
    map_db: Path,
    state_path: Path | str,
) -> Callable[..., Any]:
    SECRETS["tg_token"] = telegram.token

    @asynccontextmanager
    async def running(purge_every: float = 3600) -> AsyncIterator[Wegwijs]:
        tg = TelegramConfig(
            token=telegram.token, staff_chat_id=STAFF, api_base_url=telegram.url, poll_timeout=1
        )
        wa = WhatsAppConfig(
            token=SECRETS["wa_token"],
            phone_number_id="1000001",
            app_secret=SECRETS["app_secret"],
            verify_token=SECRETS["verify"],
            api_base_url=graph.api_base_url,
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
                retention=Retention(30),
            ) as app,
            BotServer(app, tg, wa, tick_every=3600, outbox_idle=0.05, purge_every=purge_every) as s,
            serving(s.asgi()) as url,
        ):
            graph.webhook_url = f"{url}/whatsapp/webhook"
            yield app

    return running


async def telegram_handoff(telegram: FakeTelegram, parent: int, lang: str, text: str) -> int:
    telegram.parent_text(parent, text, language_code=lang)
    consent = await until(telegram, parent, lambda m: "handoff:yes" in buttons(m))
    telegram.press(parent, consent, "handoff:yes")
    await until(telegram, parent, lambda m: named(text_of(m)))
    await telegram.wait_for_call("createForumTopic")
    topic = max(telegram.topics)
    await telegram.wait_for_messages(STAFF, 1, thread_id=topic)  # the summary
    return topic


async def whatsapp_handoff(telegram: FakeTelegram, graph: FakeGraph, text: str) -> int:
    await graph.parent_text(WA_PARENT, text)
    await wa_until(graph, WA_PARENT, lambda m: offers(m, "handoff:yes"))
    await graph.parent_choose(WA_PARENT, "handoff:yes")
    await wa_until(graph, WA_PARENT, lambda m: named(FakeGraph.text_of(m)))
    await telegram.wait_for_call("createForumTopic")
    topic = max(telegram.topics)
    await telegram.wait_for_messages(STAFF, 1, thread_id=topic)
    return topic


def everything_stored(where: Path | str) -> str:
    """Every value in every table of the state database (either engine), as one text."""
    db = open_database(where)
    try:
        return "\n".join(
            " | ".join(str(v) for v in row)
            for table in sorted(db.tables())
            for row in db.fetchall(f"SELECT * FROM {table}")
        )
    finally:
        db.close()


def count(where: Path | str, sql: str) -> int:
    db = open_database(where)
    try:
        return int(db.scalar(sql) or 0)
    finally:
        db.close()


async def drained(app: Wegwijs) -> None:
    """Wait until the outbox has sent everything (sent rows are deleted at once)."""
    for _ in range(200):
        if app.desk.outbox.count_pending() == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not drain")


# -- the logs, across both channels --------------------------------------------------------


async def test_full_conversations_on_both_channels_log_no_text_number_or_id(
    telegram: FakeTelegram,
    graph: FakeGraph,
    run_bot: Callable[..., Any],
    log_output: tuple[io.StringIO, list[logging.LogRecord]],
) -> None:
    buffer, records = log_output
    said = [
        "Je veux parler à une personne s'il vous plaît",
        "mon mari me frappe depuis des mois",
        "Bonjour madame, je vous appelle demain",
        "ik wil met iemand praten over de huur",
        "de huisbaas wil ons buitenzetten",
        "Dag! Wanneer moet u de woning verlaten?",
        "je zoek hulp voor huiswerk",
    ]
    async with run_bot() as app:
        # Telegram: a handoff about violence, relayed both ways, closed.
        topic = await telegram_handoff(telegram, TG_PARENT, "fr", said[0])
        telegram.parent_text(TG_PARENT, said[1], language_code="fr")
        await telegram.wait_for_messages(STAFF, 1, thread_id=topic)
        telegram.group_text(STAFF, SAMIRA, said[2], thread_id=topic, first_name="Samira")
        await until(telegram, TG_PARENT, lambda m: said[2] in text_of(m))
        telegram.group_text(STAFF, SAMIRA, "/close", thread_id=topic, first_name="Samira")
        await until(telegram, TG_PARENT, lambda m: "handoff:offer" in buttons(m))
        # WhatsApp: a handoff about housing, with a photo of a letter, relayed both ways.
        wa_topic = await whatsapp_handoff(telegram, graph, said[3])
        await graph.parent_text(WA_PARENT, said[4])
        await graph.parent_media(
            WA_PARENT, "image", b"\xff\xd8\xff\xe0 a letter" * 40, "image/jpeg"
        )
        await telegram.wait_for_messages(STAFF, 2, thread_id=wa_topic)
        telegram.group_text(STAFF, SAMIRA, said[5], thread_id=wa_topic, first_name="Samira")
        await wa_until(graph, WA_PARENT, lambda m: said[5] in FakeGraph.text_of(m))
        telegram.group_text(STAFF, SAMIRA, "/close", thread_id=wa_topic, first_name="Samira")
        await wa_until(graph, WA_PARENT, lambda m: offers(m, "handoff:offer"))
        # Back with the bot, then a forged webhook and an unknown command.
        await graph.parent_text(WA_PARENT, said[6])
        await wa_until(graph, WA_PARENT, lambda m: True)
        forged = await graph.post_webhook(b'{"forged": "hello"}', signature="sha256=" + "0" * 64)
        assert forged.status_code == 401
        telegram.parent_text(TG_PARENT, "/doesnotexist", language_code="fr")
        await until(telegram, TG_PARENT, lambda m: "need:" in " ".join(buttons(m)))
        await drained(app)

    written = buffer.getvalue()
    raw = "\n".join(r.getMessage() for r in records)
    lines = [json.loads(line) for line in written.splitlines()]
    assert any("handoff 1 opened" in line["message"] for line in lines)  # logging was on
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    identifiers = [str(TG_PARENT), WA_PARENT, *SECRETS.values()]
    texts = [*said, "forged", "doesnotexist", "a letter"]
    for needle in identifiers + texts:
        assert needle not in written, f"{needle!r} was logged"
        assert needle not in raw, f"{needle!r} reached a log record"
    # Not even the parts a redaction pass would have to catch.
    assert str(TG_PARENT)[:8] not in raw and WA_PARENT[2:10] not in raw


# -- /forget and /mydata ---------------------------------------------------------------------


async def test_forget_erases_every_trace_on_both_channels_and_confirms(
    telegram: FakeTelegram,
    graph: FakeGraph,
    run_bot: Callable[..., Any],
    state_path: Path | str,
) -> None:
    async with run_bot() as app:
        topic = await telegram_handoff(telegram, TG_PARENT, "en", "I want to talk to a person")
        telegram.parent_text(TG_PARENT, "my landlord threatens us", language_code="en")
        await telegram.wait_for_messages(STAFF, 1, thread_id=topic)
        wa_topic = await whatsapp_handoff(telegram, graph, "je veux parler à quelqu'un")
        await graph.parent_text(WA_PARENT, "nous n'avons plus de papiers")
        await telegram.wait_for_messages(STAFF, 1, thread_id=wa_topic)

        telegram.parent_text(TG_PARENT, "/mydata", language_code="en")
        mine = await until(telegram, TG_PARENT, lambda m: "keep" in text_of(m))
        assert "bridge worker: 1" in text_of(mine) and "/forget" in text_of(mine)
        await drained(app)
        stored = everything_stored(state_path)
        assert str(TG_PARENT) in stored and WA_PARENT in stored  # before: they are there

        telegram.parent_text(TG_PARENT, "/forget", language_code="en")
        done = await until(telegram, TG_PARENT, lambda m: "erased" in text_of(m))
        assert "everything" in text_of(done)
        await graph.parent_text(WA_PARENT, "/forget")
        confirmed = await wa_until(graph, WA_PARENT, lambda m: True)
        assert "effacé" in FakeGraph.text_of(confirmed)  # in French, inside the window
        assert graph.templates_sent(WA_PARENT) == []
        await drained(app)
        for _ in range(100):  # the staff group's topics go as well
            if not telegram.topics:
                break
            await asyncio.sleep(0.05)
        assert set(telegram.deleted_topics) == {topic, wa_topic}

    stored = everything_stored(state_path)
    for trace in (
        str(TG_PARENT),
        WA_PARENT,
        "landlord",
        "papiers",
        "talk to a person",
        "parler à quelqu",
    ):
        assert trace not in stored, f"{trace!r} is still stored"
    # What statistics need stays, as anonymous counts.
    assert count(state_path, "SELECT SUM(count) FROM handoff_counts") == 2
    assert count(state_path, "SELECT COUNT(*) FROM handoffs") == 0


# -- retention -------------------------------------------------------------------------------


@any_date
async def test_transcripts_go_30_days_after_the_handoff_closes(
    telegram: FakeTelegram,
    graph: FakeGraph,
    run_bot: Callable[..., Any],
    clock: Clock,
    state_path: Path | str,
) -> None:
    async with run_bot(purge_every=0.1) as app:
        topic = await telegram_handoff(telegram, TG_PARENT, "nl", "ik wil met iemand praten")
        telegram.parent_text(TG_PARENT, "we hebben geen verblijfspapieren", language_code="nl")
        await telegram.wait_for_messages(STAFF, 1, thread_id=topic)
        telegram.group_text(STAFF, SAMIRA, "Ik bel u morgen.", thread_id=topic)
        await until(telegram, TG_PARENT, lambda m: "Ik bel u morgen." in text_of(m))
        telegram.group_text(STAFF, SAMIRA, "/close", thread_id=topic)
        await until(telegram, TG_PARENT, lambda m: "handoff:offer" in buttons(m))
        await graph.parent_text(WA_PARENT, "ik zoek voedselhulp")  # no handoff: state only
        await wa_until(graph, WA_PARENT, lambda m: True)
        await drained(app)
        handoff_id = app.desk.store.for_chat(f"telegram:{TG_PARENT}")[0].id
        assert app.desk.store.transcript(handoff_id)

        clock.now += timedelta(days=29)  # not yet: the purge job runs every 0.1 s
        await asyncio.sleep(0.5)
        assert app.desk.store.transcript(handoff_id)
        assert topic in telegram.topics

        clock.now += timedelta(days=2)  # 31 days after closing
        for _ in range(100):
            if not telegram.topics and not app.desk.store.for_chat(f"telegram:{TG_PARENT}"):
                break
            await asyncio.sleep(0.05)
        assert app.desk.store.transcript(handoff_id) == []
        assert app.desk.store.for_chat(f"telegram:{TG_PARENT}") == []
        assert topic in telegram.deleted_topics
        notice = telegram.sent(STAFF)[-1]
        assert "bewaartermijn" in text_of(notice) and str(TG_PARENT) not in text_of(notice)
        await drained(app)

    stored = everything_stored(state_path)
    for trace in (str(TG_PARENT), WA_PARENT, "verblijfspapieren", "Ik bel u morgen", "iemand"):
        assert trace not in stored, f"{trace!r} outlived its retention time"
    for table in ("chats", "handoffs", "handoff_messages", "outbox", "seen_messages"):
        assert count(state_path, f"SELECT COUNT(*) FROM {table}") == 0, table
    assert count(state_path, "SELECT COUNT(*) FROM contact_windows") == 0
    assert count(state_path, "SELECT SUM(count) FROM handoff_counts") == 1


def test_wegwijs_purge_runs_on_demand_and_rejects_a_bad_setting(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"WEGWIJS_STATE_DB": str(tmp_path / "state.db"), "WEGWIJS_RETENTION_DAYS": "7"}
    result = runner.invoke(main, ["purge"], env=env)
    assert result.exit_code == 0, result.output
    assert "Retention 7 days" in result.output
    bad = runner.invoke(main, ["purge"], env={**env, "WEGWIJS_RETENTION_DAYS": "a month"})
    assert bad.exit_code != 0
    assert "WEGWIJS_RETENTION_DAYS" in bad.output and "Traceback" not in bad.output


def test_sent_messages_leave_the_outbox_at_once(state_path: Path | str) -> None:
    """Covered end to end above; this pins the mechanism: nothing sent is kept."""
    from bot.conversation.state import StateStore
    from bot.handoff.outbox import Outbox

    state = StateStore(state_path, Clock())
    outbox = Outbox(state)
    outbox.put("parent", "telegram:1", "reply", {"text": "a private answer"})
    (items,) = outbox.due("parent").values()
    outbox.done(items)
    state.close()
    assert "a private answer" not in everything_stored(state_path)


@pytest.mark.parametrize(
    ("lang", "word"),
    [("nl", "brugfiguur"), ("fr", "personne-relais"), ("ar", "الوسيط"), ("en", "bridge worker")],
)
async def test_privacy_explains_what_is_kept_in_the_parents_language(
    engine: Engine, lang: str, word: str
) -> None:
    chat = f"privacy-{lang}"
    await engine.handle(Incoming(chat, kind="button", payload=f"lang:{lang}"))
    (reply,) = (await engine.handle(Incoming(chat, "/privacy"))).replies
    assert word in reply.text and "30" in reply.text
    assert "/mydata" in reply.text and "/forget" in reply.text
    welcome = (await engine.handle(Incoming(chat, "/start"))).replies[0].text
    assert "/privacy" in welcome
