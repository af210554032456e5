"""Two real ``wegwijs serve`` (webhook mode: Telegram and WhatsApp) on one database, behind a
load balancer played by the test, with the fakes of Telegram and the Graph API (issue 18).

Bursts from many chats go to both replicas, each chat's messages alternating between them (the
worst case for order: message 2 of a chat reaches B while A still handles message 1); the
replica that runs the periodic jobs is killed with SIGKILL mid-burst, and the balancer sends
the rest (and the calls the dead one never acknowledged) to the survivor. Then: every message
is answered, in order per chat, and once (a reply whose send was cut off by the kill may be
sent again: it is counted by the survivor, and only those may appear twice, see
``Outbox._drain_key``); every timer (an escalation, a promised follow-up, a check-back) fired
once, and the jobs moved to the survivor (a handoff seeded after the kill is escalated by it).

The database comes from the ``database_url`` fixture: SQLite shared by the two processes here;
PostgreSQL when that fixture is parametrised with a server (the state store's own URL support).
Every wait is for a condition; nothing here measures time (bench/replicas_bench.py does).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e import STAFF, buttons, text_of
from processes import ServeProcess, eventually, log_lines, serve_env

from bot.clock import local_day, system_clock
from bot.conversation.i18n import Lang
from bot.conversation.messages import HandoffRequest, Incoming
from bot.conversation.state import StateStore
from bot.desk.auth import Passwords
from bot.followup.checkback import CheckBackPolicy, CheckBacks
from bot.handoff.desk import HandoffDesk
from bot.handoff.registrations import NewRegistration
from bot.handoff.workers import SAMPLE_FILE, load_team
from fakes.graph_api import FakeGraph
from fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.rasa
SECRET = "webhook-secret-replicas"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WA_PATH = "/whatsapp/webhook"
TG_PATH = "/telegram/webhook"
LEASE = "3"  # seconds: how soon the survivor takes over the dead replica's work
WAIT = 120.0  # only against hanging for ever (two bots and Rasa share two cores)
COMMANDS = {  # each answered with one message that says which command it was
    "/privacy": "Privacy, in short:",
    "/mydata": "This is what I keep about you:",
    "/language": "Choose your language:",
}
TG_PARENTS = list(range(931280000, 931280040))
WA_PARENTS = [f"3248{n:07d}" for n in range(1000, 1040)]
CHECKBACK_PARENT = 931289999


# -- the database, the fakes, the processes ----------------------------------------------------


@pytest.fixture
def database_url(state_db: Path | str) -> str:
    """The one database both replicas share, once per engine (``state_db`` in conftest): a
    SQLite file, or a real PostgreSQL database. Each process gets it by :func:`database_env`."""
    return state_db if isinstance(state_db, str) else f"sqlite:///{state_db}"


def database_env(url: str) -> dict[str, str]:
    if url.startswith("sqlite:///"):
        return {"WEGWIJS_STATE_DB": url.removeprefix("sqlite:///")}
    return {"WEGWIJS_DATABASE_URL": url}


def open_store(url: str, clock: Callable[[], datetime]) -> StateStore:
    """The test's own connection to the shared database (to seed the timers)."""
    return StateStore(url.removeprefix("sqlite:///"), clock, replica="test")


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as server:
        yield server


@pytest.fixture
def processes() -> Iterator[list[ServeProcess]]:
    made: list[ServeProcess] = []
    yield made
    for process in made:
        process.stop()


def replica(
    name: str,
    database_url: str,
    telegram: FakeTelegram,
    graph: FakeGraph,
    rasa_url: str,
    map_db: Path,
    tmp_path: Path,
) -> ServeProcess:
    env = serve_env(
        tmp_path / name,
        map_db,
        NLU_URL=rasa_url,
        WEGWIJS_LEASE_SECONDS=LEASE,
        WHATSAPP_TOKEN=graph.token,
        WHATSAPP_PHONE_NUMBER_ID=graph.phone_number_id,
        WHATSAPP_APP_SECRET=graph.app_secret,
        WHATSAPP_VERIFY_TOKEN=graph.verify_token,
        WHATSAPP_API_BASE_URL=graph.api_base_url,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_STAFF_CHAT_ID=str(STAFF),
        TELEGRAM_API_BASE_URL=telegram.url,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        **database_env(database_url),
    )
    env["TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{env['WEGWIJS_PORT']}"
    return ServeProcess(env, tmp_path / f"{name}.log")


class Balancer:
    """The load balancer and the platform's side of a webhook: a call goes to the replica
    chosen for it, and to the next one when that one does not answer 200 (it is down), again
    and again until one does, as Telegram and Meta re-deliver."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.acknowledged = 0
        self.client = httpx.AsyncClient(timeout=60)

    async def deliver(self, path: str, body: bytes, headers: dict[str, str], first: int) -> None:
        n = first
        while True:
            url = self.urls[n % len(self.urls)] + path
            try:
                response = await self.client.post(
                    url, content=body, headers={"Content-Type": "application/json", **headers}
                )
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code == 200:
                self.acknowledged += 1
                return
            if response is not None and 400 <= response.status_code < 500:
                raise AssertionError(f"a replica refused a good call: {response.status_code}")
            n += 1
            await asyncio.sleep(0.05)

    async def aclose(self) -> None:
        await self.client.aclose()


# -- the timers ----------------------------------------------------------------------------------


def seed_escalation(url: str, parent: int) -> int:
    """An urgent question handed over three hours ago that nobody picked up: the handoff timer
    escalates it to the coordinator, once."""
    now = system_clock()
    state = open_store(url, lambda: now - timedelta(hours=3))
    try:
        desk = HandoffDesk(state, load_team(SAMPLE_FILE), staff_room=True)
        msg = Incoming(chat_id=str(parent), text="help", channel="telegram")
        ticket = desk.open(msg, HandoffRequest("human_request", True, "nl"), [])
        return ticket.handoff_id
    finally:
        state.close()


def seed_promise_and_checkback(url: str) -> None:
    """A follow-up promised for today (the staff group is reminded once) and a check-back the
    parent said yes to, due since yesterday (asked once)."""
    now = system_clock()
    state = open_store(url, lambda: now - timedelta(days=6))
    try:
        desk = HandoffDesk(state, load_team(SAMPLE_FILE), staff_room=True)
        today = local_day(now)
        desk.registrations.add(
            NewRegistration(
                contact_on=today - timedelta(days=6),
                worker="samira",
                source="direct",
                contact_type="phone",
                outcome="follow_up",
                themes=("housing",),
                follow_up_on=today,
            ),
            now - timedelta(days=6),
        )
        CheckBacks(state, CheckBackPolicy(5)).plan(
            f"telegram:{CHECKBACK_PARENT}", "en", ["kind-en-gezin-leuven"]
        )
    finally:
        state.close()


def staff_texts_with(telegram: FakeTelegram, part: str) -> int:
    return sum(part in text_of(m) for m in telegram.sent(STAFF))


# -- what the parents got ------------------------------------------------------------------------


def commands_answered(texts: list[str], lang: Lang) -> tuple[list[str], int]:
    """The commands the texts answer, in order, with a text sent twice in a row counted once;
    and how many such repeats there were."""
    seen: list[str] = []
    repeats = 0
    previous = None
    for text in texts:
        if text == previous:
            repeats += 1
            continue
        previous = text
        for command, start in COMMANDS.items():
            if text.startswith(lang._(start)):
                seen.append(command)
    return seen, repeats


async def idle(bot: ServeProcess) -> None:
    async def empty() -> bool:
        database = (await bot.health())["database"]
        return database["outbox"]["pending"] == 0 and database["inbox"]["pending"] == 0

    await eventually(empty, "the inbox and the outbox are empty", WAIT)


# -- the test ------------------------------------------------------------------------------------


async def test_two_replicas_one_killed_mid_burst_answer_every_message_once_in_order(
    database_url: str,
    telegram: FakeTelegram,
    graph: FakeGraph,
    rasa_url: str,
    map_db: Path,
    tmp_path: Path,
    processes: list[ServeProcess],
) -> None:
    first_handoff = seed_escalation(database_url, 931288888)
    seed_promise_and_checkback(database_url)
    telegram.add_user(CHECKBACK_PARENT)  # who said yes to the check-back, days ago

    a = replica("a", database_url, telegram, graph, rasa_url, map_db, tmp_path)
    b = replica("b", database_url, telegram, graph, rasa_url, map_db, tmp_path)
    processes += [a, b]
    await a.start(WAIT)  # first: it takes the periodic jobs
    await b.start(WAIT)
    assert set((await a.health())["database"]["replica"]["jobs"]) >= {
        "handoff timer",
        "check-backs",
    }
    assert (await b.health())["database"]["replica"]["jobs"] == []

    # The burst: per chat, its three messages one after the other (as the platforms send
    # them), alternating between the replicas; all chats at once.
    calls: list[list[tuple[str, bytes, dict[str, str]]]] = []
    for parent in TG_PARENTS:
        chat = []
        for command in COMMANDS:
            telegram.parent_text(parent, command, language_code="en")
            (update,) = telegram.take_updates()
            chat.append((TG_PATH, json.dumps(update).encode(), {SECRET_HEADER: SECRET}))
        calls.append(chat)
    for wa_id in WA_PARENTS:
        chat = []
        for command in COMMANDS:
            _, body = graph.message_webhook(wa_id, {"type": "text", "text": {"body": command}})
            chat.append((WA_PATH, body, {"X-Hub-Signature-256": graph.sign(body)}))
        calls.append(chat)
    total = sum(len(chat) for chat in calls)
    balancer = Balancer([a.url, b.url])

    async def one_chat(n: int, chat: list[tuple[str, bytes, dict[str, str]]]) -> None:
        for m, (path, body, headers) in enumerate(chat):
            await balancer.deliver(path, body, headers, first=n + m)

    sending = asyncio.gather(*(one_chat(n, chat) for n, chat in enumerate(calls)))
    try:
        await eventually(lambda: balancer.acknowledged >= total // 3, "a third acknowledged", WAIT)
        a.kill()  # SIGKILL: no shutdown code runs; its claims simply stop being renewed
        assert balancer.acknowledged < total, "the burst was over before the kill"
        second_handoff = seed_escalation(database_url, 931287777)
        await asyncio.wait_for(sending, timeout=WAIT * 2)
    finally:
        sending.cancel()
        await balancer.aclose()
    await idle(b)

    # Every message answered, in order per chat; a repeat only for a send the kill cut off.
    repeats = 0
    for parent in TG_PARENTS:
        texts = [text_of(m) for m in telegram.sent(parent)]
        seen, again = commands_answered(texts, Lang("en"))
        assert seen == list(COMMANDS), (parent, texts)
        repeats += again
    for wa_id in WA_PARENTS:
        texts = [graph.text_of(m) for m in graph.sent(wa_id)]
        seen, again = commands_answered(texts, Lang("nl"))
        assert seen == list(COMMANDS), (wa_id, texts)
        repeats += again
    survivor = (await b.health())["database"]
    resent = survivor["outbox"]["resent_after_crash"]
    print(f"replies sent twice: {repeats}; cut off by the kill and sent again: {resent}")
    assert repeats <= resent, (repeats, resent)

    # Every timer fired once, the ones due after the kill on the survivor, which now runs
    # the jobs.
    async def escalated() -> bool:
        return staff_texts_with(telegram, f"vraag #{second_handoff} wacht al") >= 1

    await eventually(escalated, "the survivor escalates the second handoff", WAIT)
    await idle(b)
    assert staff_texts_with(telegram, f"vraag #{first_handoff} wacht al") == 1
    assert staff_texts_with(telegram, f"vraag #{second_handoff} wacht al") == 1
    assert staff_texts_with(telegram, "vandaag opvolgen") == 1
    asked = [m for m in telegram.sent(CHECKBACK_PARENT) if "checkback:" in str(buttons(m))]
    assert len(asked) == 1, [text_of(m) for m in telegram.sent(CHECKBACK_PARENT)]
    assert "handoff timer" in (await b.health())["database"]["replica"]["jobs"]
    assert not [line for line in log_lines(b.log) if '"level": "error"' in line]


async def desk_poll(base: str, login: str, password: str) -> list[dict[str, Any]]:
    """Sign in to the desk at ``base`` as a browser does and poll for what changed."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        page = await client.get("/desk/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None, page.text[:300]
        signed = await client.post(
            "/desk/login",
            data={"login": login, "password": password, "csrf": token.group(1), "next": "/desk/"},
        )
        assert signed.status_code == 303, signed.text[:300]
        polled = await client.get("/desk/poll", params={"after": 0})
        assert polled.status_code == 200, polled.text[:300]
        return list(polled.json()["events"])


async def test_desk_updates_cross_replicas_and_a_stopped_replica_hands_over_its_jobs(
    database_url: str,
    telegram: FakeTelegram,
    graph: FakeGraph,
    rasa_url: str,
    map_db: Path,
    tmp_path: Path,
    processes: list[ServeProcess],
) -> None:
    handoff = seed_escalation(database_url, 931286666)
    state = open_store(database_url, system_clock)
    try:
        Passwords(state).set("nadia", "coordinator-pass-1", system_clock())
    finally:
        state.close()
    a = replica("a", database_url, telegram, graph, rasa_url, map_db, tmp_path)
    b = replica("b", database_url, telegram, graph, rasa_url, map_db, tmp_path)
    processes += [a, b]
    await a.start(WAIT)  # it runs the jobs: the escalation, and its desk event, are its own
    await b.start(WAIT)
    assert "handoff timer" in (await a.health())["database"]["replica"]["jobs"]
    assert "handoff timer" not in (await b.health())["database"]["replica"]["jobs"]

    # The coordinator's browser is on replica B; the escalation happened on A. The desk's
    # live updates are polled from the shared desk_events table, so B shows it.
    async def shown_on_b() -> bool:
        events = await desk_poll(b.url, "nadia", "coordinator-pass-1")
        return any(e["kind"] == "escalate" and e["handoff"] == handoff for e in events)

    await eventually(shown_on_b, "the escalation made on A shows in the desk on B", WAIT)

    assert await a.stop_with(signal.SIGTERM) == 0  # gives its claims back as it stops

    async def taken_over() -> bool:
        report: dict[str, Any] = (await b.health())["database"]["replica"]
        return "handoff timer" in report["jobs"]

    await eventually(taken_over, "the other replica runs the jobs", WAIT)
    assert staff_texts_with(telegram, f"vraag #{handoff} wacht al") == 1
