"""Faults, each one a test: the real ``wegwijs serve`` killed with SIGKILL mid-conversation and
mid-handoff, the Bot API answering 429 and 5xx to parents, and a broken map edit while the bot
runs.

The bot's own code runs unmodified. Fakes sit only at the network boundary: the fake Bot API
(tests/fakes/telegram_api.py) over real HTTP, and, for one test, a loopback proxy in front of
the real Rasa server. Kill points are made deterministic by faults the fake injects (an outage
of sendMessage, updates that can never be confirmed) or by a held NLU request, never by timing:
delivery to the platforms is at-least-once by design, so a kill between a successful send and
its bookkeeping could legitimately repeat a message, and these tests never kill there.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from e2e import SAMIRA, STAFF, Clock, buttons, map_checked_on, text_of, until
from processes import WAIT, ServeProcess, assert_private, eventually, serve_env

from bot.app import wegwijs
from bot.channels.telegram.config import TelegramConfig
from bot.cli import main as wegwijs_cli
from bot.conversation.engine import Engine
from bot.conversation.i18n import Lang
from bot.conversation.map_provider import MapProvider
from bot.conversation.messages import Incoming, Outcome
from bot.conversation.state import StateStore
from bot.handoff.workers import SAMPLE_FILE, load_team
from bot.nlu.client import NLUClient
from bot.nlu.understand import Understander
from bot.paths import MAP_DATA_DIR
from bot.server import BotServer
from fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.rasa
BRUSSELS = ZoneInfo("Europe/Brussels")
# Parent ids nothing else in a log line could contain by accident (the privacy check greps).
PARENT_A, PARENT_B, PARENT_C, PARENT_D, PARENT_E = range(931274655, 931274660)
# The parent's note when Samira picks a handoff up (the ticket before it names her too).
PICKED_UP = (
    Lang("nl")._("{name}, a bridge worker, is now reading your question.").format(name="Samira")
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
def serve(
    fake: FakeTelegram, rasa_url: str, map_db: Path, tmp_path: Path
) -> Iterator[Callable[..., ServeProcess]]:
    """Make a ``wegwijs serve`` process (not started); a test's processes share one data
    directory (the restart finds the state and the outbox) and one log file."""
    made: list[ServeProcess] = []

    def make(nlu_url: str | None = None) -> ServeProcess:
        env = serve_env(
            tmp_path / "data",
            map_db,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_STAFF_CHAT_ID=str(STAFF),
            TELEGRAM_API_BASE_URL=fake.url,
            NLU_URL=nlu_url or rasa_url,
        )
        process = ServeProcess(env, tmp_path / "serve.log")
        made.append(process)
        return process

    yield make
    for process in made:
        process.stop()


# -- 1a. killed mid-conversation ----------------------------------------------------------------


async def test_killed_mid_conversation_each_reply_once_in_order_and_state_kept(
    fake: FakeTelegram, serve: Callable[..., ServeProcess]
) -> None:
    parent = PARENT_A
    first = serve()
    await first.start()
    fake.parent_text(parent, "ik zoek kinderopvang voor mijn baby")
    asked = await until(fake, parent, lambda m: "area:heverlee" in buttons(m))
    fake.press(parent, asked, "area:heverlee")
    await until(fake, parent, lambda m: "handoff:offer" in buttons(m))
    await until(fake, parent, lambda m: "checkback:plan" in buttons(m))  # asked once per chat
    before = len(fake.sent(parent))

    # Telegram's sendMessage is down for this parent, and the bot will never get to confirm
    # the next updates it fetches. Two messages arrive in one batch.
    fake.fail_while("sendMessage", 502, chat_id=parent)
    fake.hold_confirmations()
    fake.parent_text(parent, "waar kan ik goedkoop eten kopen")
    fake.parent_text(parent, "/mydata")
    await fake.wait_for_failed_call("sendMessage", lambda p: p.get("chat_id") == parent)
    await eventually(_pending_at_least(first, 2), "both answers wait in the outbox")
    assert fake.pending_update_count() == 2  # fetched and answered, never confirmed
    first.kill()
    assert fake.sent(parent)[before:] == []

    fake.recover()  # Telegram is back
    second = serve()
    await second.start()
    food, mydata = await fake.wait_for_messages(parent, 2, timeout=WAIT)
    assert "handoff:offer" in buttons(food) and "1." in text_of(food)  # services, in order
    assert "Heverlee" in text_of(mydata)
    # The two updates were delivered again (they were never confirmed) and are not answered
    # twice; then the conversation goes on where it was: Dutch, Heverlee, area not asked again.
    await eventually(lambda: fake.pending_update_count() == 0, "the updates are confirmed")
    fake.parent_text(parent, "mijn zoon heeft hulp nodig bij zijn huiswerk")
    (homework,) = await fake.wait_for_messages(parent, 1, timeout=WAIT)
    assert "area:heverlee" not in buttons(homework)
    assert "handoff:offer" in buttons(homework) and "1." in text_of(homework)
    await eventually(_pending_at_most(second, 0), "the outbox is empty")
    after = [text_of(m) for m in fake.sent(parent)[before:]]
    assert after == [text_of(food), text_of(mydata), text_of(homework)]  # not greeted again
    second.kill()
    assert_private(first.log, str(parent), "kinderopvang", "goedkoop", "huiswerk")


# -- 1b. killed mid-handoff ---------------------------------------------------------------------


async def hand_off_and_pick_up(fake: FakeTelegram, parent: int, text: str) -> int:
    """The parent asks for a person and consents; Samira picks it up. Returns the topic."""
    fake.parent_text(parent, text)
    consent = await until(fake, parent, lambda m: "handoff:yes" in buttons(m))
    fake.press(parent, consent, "handoff:yes")
    await fake.wait_for_call("createForumTopic", timeout=WAIT)
    topic = max(fake.topics)
    summary = await until(fake, STAFF, lambda m: "staff:pickup:" in str(buttons(m)), topic)
    pickup = next(b for b in buttons(summary) if b.startswith("staff:pickup:"))
    fake.press(SAMIRA, summary, pickup, first_name="Samira")
    await until(fake, parent, lambda m: PICKED_UP in text_of(m))  # the parent lane is done
    await fake.wait_for_call("editMessageReplyMarkup", timeout=WAIT)  # the staff lane is done
    return topic


async def test_killed_mid_handoff_same_topic_nothing_lost_nothing_twice(
    fake: FakeTelegram, serve: Callable[..., ServeProcess]
) -> None:
    parent = PARENT_B
    first = serve()
    await first.start()
    topic = await hand_off_and_pick_up(fake, parent, "ik wil met iemand praten")
    topics_before = dict(fake.topics)
    created = len([c for c in fake.calls if c[0] == "createForumTopic"])

    # Telegram fails every message to the parent and to the staff group: one message each
    # way is relayed into the outbox and waits there when the bot is killed.
    fake.fail_while("sendMessage", 502, chat_id=parent)
    fake.fail_while("sendMessage", 502, chat_id=STAFF)
    fake.group_text(STAFF, SAMIRA, "Dag! Over welke school gaat het?", thread_id=topic)
    fake.parent_text(parent, "zijn jullie daar?")
    await fake.wait_for_failed_call(
        "sendMessage", lambda p: p.get("chat_id") == parent and "welke school" in p["text"]
    )
    await fake.wait_for_failed_call(
        "sendMessage", lambda p: p.get("chat_id") == STAFF and "jullie daar" in p["text"]
    )
    first.kill()

    # While the bot is down, both go on writing.
    fake.parent_text(parent, "het gaat over de school van mijn dochter")
    fake.group_text(STAFF, SAMIRA, "Ik ben er nog.", thread_id=topic)
    fake.recover()
    second = serve()
    await second.start()

    relayed: list[str] = []
    while not any("mijn dochter" in line for line in relayed):
        (message,) = await fake.wait_for_messages(STAFF, 1, thread_id=topic, timeout=WAIT)
        relayed += text_of(message).splitlines()
    said = [line.removeprefix("👤 ") for line in relayed if line.startswith("👤")]
    assert said == ["zijn jullie daar?", "het gaat over de school van mijn dochter"]
    answer = await until(fake, parent, lambda m: "welke school" in text_of(m))
    still = await until(fake, parent, lambda m: "Ik ben er nog." in text_of(m))
    assert text_of(answer).startswith("Samira") and text_of(still).startswith("Samira")

    # The worker can still answer and close, in the same topic.
    fake.group_text(STAFF, SAMIRA, "Ik bel je morgen.", thread_id=topic)
    await until(fake, parent, lambda m: "Ik bel je morgen." in text_of(m))
    fake.group_text(STAFF, SAMIRA, "/close", thread_id=topic)
    closed = await until(fake, parent, lambda m: "handoff:offer" in buttons(m))
    assert "Samira" in text_of(closed)
    await fake.wait_for_call("closeForumTopic", timeout=WAIT)
    assert fake.topics[topic]["closed"]
    assert fake.topics.keys() == topics_before.keys()
    assert len([c for c in fake.calls if c[0] == "createForumTopic"]) == created

    await eventually(_pending_at_most(second, 0), "the outbox is empty")
    to_parent = [text_of(m) for m in fake.sent(parent)]
    for relayed_text in ("welke school", "Ik ben er nog.", "Ik bel je morgen.", text_of(closed)):
        assert sum(relayed_text in t for t in to_parent) == 1, relayed_text
    in_topic = "\n".join(text_of(m) for m in fake.sent(STAFF, topic))
    assert in_topic.count("zijn jullie daar?") == 1
    assert in_topic.count("het gaat over de school van mijn dochter") == 1
    second.kill()
    assert_private(first.log, str(parent), "jullie daar", "welke school", "dochter", "morgen")


async def test_a_workers_message_delivered_again_after_a_kill_is_relayed_once(
    fake: FakeTelegram, serve: Callable[..., ServeProcess]
) -> None:
    """Telegram delivers an update again when the bot died before confirming it: a message in
    the staff group must then not reach the parent twice (parents' messages are deduplicated
    by the router; the staff group's by the Telegram channel)."""
    parent = PARENT_C
    first = serve()
    await first.start()
    topic = await hand_off_and_pick_up(fake, parent, "ik wil met iemand praten")
    fake.hold_confirmations()
    fake.group_text(STAFF, SAMIRA, "Eén keer, graag.", thread_id=topic)
    await until(fake, parent, lambda m: "Eén keer, graag." in text_of(m))
    await eventually(_pending_at_most(first, 0), "the relayed message is marked sent")
    assert fake.pending_update_count() == 1  # relayed, and never confirmed
    first.kill()

    fake.recover()
    second = serve()
    await second.start()
    await eventually(lambda: fake.pending_update_count() == 0, "it was delivered again")
    fake.group_text(STAFF, SAMIRA, "En nog iets.", thread_id=topic)
    await until(fake, parent, lambda m: "En nog iets." in text_of(m))
    to_parent = [text_of(m) for m in fake.sent(parent)]
    assert sum("Eén keer, graag." in text for text in to_parent) == 1
    second.kill()
    assert_private(first.log, str(parent), "Eén keer", "nog iets")


async def test_killed_between_opening_the_topic_and_posting_its_summary(
    fake: FakeTelegram, serve: Callable[..., ServeProcess]
) -> None:
    """Opening a handoff is two calls (create the topic, post the summary), each remembered at
    once: a restart in between makes neither a second topic nor a second summary."""
    parent = PARENT_E
    first = serve()
    await first.start()
    fake.parent_text(parent, "ik wil met iemand praten")
    consent = await until(fake, parent, lambda m: "handoff:yes" in buttons(m))
    fake.fail_while("sendMessage", 502, chat_id=STAFF)
    fake.press(parent, consent, "handoff:yes")
    await fake.wait_for_call("createForumTopic", timeout=WAIT)
    await fake.wait_for_failed_call("sendMessage", lambda p: p.get("chat_id") == STAFF)
    first.kill()

    fake.recover()
    second = serve()
    await second.start()
    (topic,) = fake.topics
    summary = await until(fake, STAFF, lambda m: True, topic)
    assert any(b.startswith("staff:pickup:") for b in buttons(summary))
    fake.press(SAMIRA, summary, buttons(summary)[0], first_name="Samira")
    await until(fake, parent, lambda m: PICKED_UP in text_of(m))
    await eventually(_pending_at_most(second, 0), "the outbox is empty")
    assert len([c for c in fake.calls if c[0] == "createForumTopic"]) == 1
    assert len([m for m in fake.sent(STAFF, topic) if "Druk op Oppakken" in text_of(m)]) == 1
    second.kill()


class HoldingNLU:
    """A loopback proxy in front of the real Rasa server that can hold parse requests: the
    bot is then provably in the middle of handling a message, so it can be killed there.

    A held answer trickles a blank of its (chunked) body every 0.2 s, so the bot's 1 s read
    timeout never fires however slow the machine is: the kill point does not depend on time."""

    def __init__(self, rasa_url: str) -> None:
        self.rasa_url = rasa_url
        self.holding = threading.Event()
        self.arrived = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self, body: bytes | None) -> None:
                request = Request(
                    proxy.rasa_url + self.path,
                    data=body,
                    method=self.command,
                    headers={"Content-Type": "application/json"},
                )
                with urlopen(request, timeout=10) as answer:
                    content = answer.read()
                    status = answer.status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_GET(self) -> None:
                self._forward(None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.startswith("/model/parse") and proxy.holding.is_set():
                    self._hold()
                    return
                self._forward(body)

            def _hold(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                proxy.arrived.set()
                try:
                    while not proxy.release.wait(0.2):
                        self.wfile.write(b"1\r\n \r\n")  # JSON may start with blanks
                        self.wfile.flush()
                except OSError:
                    pass  # the bot that asked is dead by now
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def holding_nlu(rasa_url: str) -> Iterator[HoldingNLU]:
    proxy = HoldingNLU(rasa_url)
    yield proxy
    proxy.close()


async def test_killed_while_a_message_is_being_handled_it_is_still_answered(
    fake: FakeTelegram, serve: Callable[..., ServeProcess], holding_nlu: HoldingNLU
) -> None:
    parent = PARENT_D
    first = serve(holding_nlu.url)
    await first.start()
    holding_nlu.holding.set()
    fake.parent_text(parent, "ik zoek voedselhulp voor mijn kinderen")
    await eventually(holding_nlu.arrived.is_set, "the bot asks Rasa about the message")
    first.kill()  # still waiting for Rasa: no answer was queued yet

    holding_nlu.holding.clear()
    holding_nlu.release.set()
    second = serve(holding_nlu.url)
    await second.start()
    await eventually(lambda: fake.pending_update_count() == 0, "the updates are confirmed")
    fake.parent_text(parent, "/menu")
    (first_reply,) = await fake.wait_for_messages(parent, 1, timeout=WAIT)
    # The first thing the parent hears is the answer to their question (with the welcome),
    # not just the menu they asked for afterwards.
    assert "lang:ar" in buttons(first_reply), text_of(first_reply)
    second.kill()


def outbox_pending(report: dict[str, Any]) -> int:
    """How many messages wait in the outbox, as ``/healthz`` reports it."""
    return int(report["database"]["outbox"]["pending"])


def _pending_at_least(process: ServeProcess, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return outbox_pending(await process.health()) >= count

    return check


def _pending_at_most(process: ServeProcess, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return outbox_pending(await process.health()) <= count

    return check


# -- 2. Telegram answers 429 and 5xx to parents -------------------------------------------------


@pytest.fixture
def run_bot(fake: FakeTelegram, rasa_url: str, map_db: Path, tmp_path: Path) -> Callable[[], Any]:
    """The bot in this process (quicker than ``serve`` when nothing is killed)."""

    @asynccontextmanager
    async def running() -> AsyncIterator[BotServer]:
        config = TelegramConfig(
            token=fake.token, staff_chat_id=STAFF, api_base_url=fake.url, poll_timeout=1
        )
        async with (
            wegwijs(
                rasa_url,
                team=load_team(SAMPLE_FILE),
                staff_room=True,
                state_path=tmp_path / "state.db",
                map_path=map_db,
                clock=Clock(),
                nlu_timeout=5.0,
            ) as app,
            BotServer(app, config, tick_every=3600, outbox_idle=0.05) as server,
        ):
            yield server

    return running


async def test_parent_replies_wait_out_5xx_and_429_in_order_and_once(
    fake: FakeTelegram, run_bot: Callable[[], Any]
) -> None:
    failing, other = 931274660, 931274661
    t = Lang("en")
    async with run_bot() as server:
        outbox = server.app.desk.outbox
        # Chats are independent: while Telegram fails one parent's chat, another is answered.
        fake.fail_while("sendMessage", 502, chat_id=failing)
        for command in ("/start", "/menu", "/language", "/mydata"):
            fake.parent_text(failing, command, language_code="en")
        fake.parent_text(other, "/start", language_code="en")
        await fake.wait_for_messages(other, 2)
        await eventually(lambda: outbox.count_pending("parent") == 5, "five replies queued")
        await fake.wait_for_failed_call("sendMessage", lambda p: p.get("chat_id") == failing)
        assert fake.sent(failing) == []

        # Telegram is back, but first says "too many requests" more often than PTB retries.
        fake.fail_next("sendMessage", 429, retry_after=1, times=3)
        fake.recover()
        got = await fake.wait_for_messages(failing, 5, timeout=WAIT)
        await eventually(lambda: outbox.count_pending() == 0, "the outbox is empty")

    assert [status for _, status, _ in fake.errors].count(429) == 3
    assert len(fake.sent(failing)) == 5  # nothing twice
    welcome, start_menu, menu, languages, mydata = got
    assert "lang:ar" in buttons(welcome)
    assert text_of(start_menu) == t._("What can I help you with? Choose a topic:")
    assert text_of(menu) == t._("I can help with these topics:")
    assert "need:food" in buttons(start_menu) and "need:food" in buttons(menu)
    assert text_of(languages) == t._("Choose your language:") and "lang:fr" in buttons(languages)
    assert text_of(mydata).startswith(t._("This is what I keep about you:"))


# -- 3. a broken map edit while the bot runs ----------------------------------------------------


def build(data: Path, out: Path) -> tuple[int, str]:
    """``wegwijs map build --data ... --out ...``, the command editors run."""
    today = map_checked_on().isoformat()  # not the wall clock: the suite runs on any date
    result = CliRunner().invoke(
        wegwijs_cli, ["map", "build", "--today", today, "--data", str(data), "--out", str(out)]
    )
    return result.exit_code, result.output


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


async def test_a_broken_map_edit_keeps_the_last_good_map_and_a_fix_is_used_without_restart(
    rasa_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "social_map"
    shutil.copytree(MAP_DATA_DIR, data)
    db = tmp_path / "var" / "social_map.db"
    code, output = build(data, db)
    assert code == 0, output
    client = NLUClient(rasa_url, timeout=5.0)
    engine = Engine(MapProvider(db), Understander(client), StateStore(":memory:", Clock()))

    async def ask() -> Outcome:
        return await engine.handle(Incoming("map-edit", "waar kan ik goedkoop eten kopen"))

    await engine.handle(Incoming("map-edit", kind="button", payload="lang:nl"))
    await engine.handle(Incoming("map-edit", kind="button", payload="area:kessel-lo"))
    first = await ask()
    assert first.services[0] == "het-perron"
    assert "Het Perron (solidaire buurtwinkel in Hal 5)" in first.reply
    assert "016 12 34 56" not in first.reply

    # An editor adds a phone number and forgets a bracket: the build says where, and stops.
    perron = data / "het-perron.yml"
    lines = perron.read_text(encoding="utf-8").splitlines()
    needs_line = next(n for n, line in enumerate(lines, start=1) if line.startswith("needs:"))
    edit(
        perron,
        "needs: [food, paperwork, meeting_people]",
        "needs: [food, paperwork, meeting_people",
    )
    edit(
        perron, "areas: [kessel-lo]\n", 'areas: [kessel-lo]\nphones:\n  - number: "016 12 34 56"\n'
    )
    code, output = build(data, db)
    assert code == 1
    assert (
        f"het-perron.yml:{needs_line}: error: the list that starts here with [ is not closed"
        in output
    )
    assert f"the previous database {db} was kept" in output
    assert sorted(p.name for p in db.parent.iterdir()) == ["social_map.db"]  # no half file

    kept = await ask()  # the running bot still answers, from the last good map
    assert kept.services == first.services
    assert "Het Perron (solidaire buurtwinkel in Hal 5)" in kept.reply
    assert "016 12 34 56" not in kept.reply

    # The fix, with a new name too: built, and the very next answer uses it (no restart).
    edit(perron, "meeting_people\n", "meeting_people]\n")
    edit(perron, "nl: Het Perron (solidaire buurtwinkel in Hal 5)", "nl: Het Perron (buurtwinkel)")
    code, output = build(data, db)
    assert code == 0, output
    assert "Built" in output
    fixed = await ask()
    assert fixed.services[0] == "het-perron"
    assert "Het Perron (buurtwinkel)" in fixed.reply and "016 12 34 56" in fixed.reply
    assert "Het Perron (solidaire" not in fixed.reply  # the old name is gone

    await client.aclose()
    engine.maps.close()
    engine.state.close()
