"""Odd but authentic input (signed by Meta's app secret, or with Telegram's secret token): the
bot answers a wrong shape with a 4xx and one clear log line, never a 500 or a stack; replaces
lone surrogates at the boundary so the parent is still answered; and takes staff actions only
from the staff group, with a real handoff number.

Both channels run in this process over real HTTP (Telegram in webhook mode), against the fake
platforms and the real Rasa server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e import SAMIRA, STAFF, Clock, buttons, named, text_of, until
from processes import eventually

from bot.app import wegwijs
from bot.channels.telegram.config import TelegramConfig
from bot.channels.whatsapp.config import WhatsAppConfig
from bot.conversation.i18n import Lang
from bot.handoff.workers import SAMPLE_FILE, load_team
from bot.server import BotServer
from fakes.graph_api import FakeGraph
from fakes.serving import serving
from fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.rasa
SECRET = "s3cret-token"
JSONDict = dict[str, Any]


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as server:
        yield server


class Bot:
    def __init__(self, server: BotServer, url: str, telegram: FakeTelegram) -> None:
        self.server, self.url, self.telegram = server, url, telegram
        self.client = httpx.AsyncClient(base_url=url, timeout=30)

    async def telegram_update(self, update: JSONDict | bytes) -> httpx.Response:
        """POST one update to the webhook, as Telegram does (non-ASCII as \\u escapes)."""
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        return await self.client.post(
            "/telegram/webhook",
            content=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
        )

    async def push(self) -> None:
        """Deliver what the fake's users did (queued updates) to the webhook."""
        for update in self.telegram.take_updates():
            assert (await self.telegram_update(update)).status_code == 200


@pytest.fixture
def run_bot(
    telegram: FakeTelegram, graph: FakeGraph, rasa_url: str, map_db: Path, tmp_path: Path
) -> Callable[[], Any]:
    @asynccontextmanager
    async def running() -> AsyncIterator[Bot]:
        tg = TelegramConfig(
            token=telegram.token,
            staff_chat_id=STAFF,
            api_base_url=telegram.url,
            webhook_url="https://wegwijs.example.org",
            webhook_secret=SECRET,
        )
        wa = WhatsAppConfig(
            token=graph.token,
            phone_number_id=graph.phone_number_id,
            app_secret=graph.app_secret,
            verify_token=graph.verify_token,
            api_base_url=graph.api_base_url,
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
            BotServer(app, tg, wa, tick_every=3600, outbox_idle=0.05) as server,
            serving(server.asgi()) as url,
        ):
            graph.webhook_url = f"{url}/whatsapp/webhook"
            bot = Bot(server, url, telegram)
            try:
                yield bot
            finally:
                await bot.client.aclose()

    return running


def problems(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """Records that are errors or carry a stack."""
    return [r for r in records if r.levelno >= logging.ERROR or r.exc_info]


# -- WhatsApp: wrong shapes ---------------------------------------------------------------------


def nested(depth: int) -> bytes:
    return b'{"object": "whatsapp_business_account", "entry": ' + b"[" * depth + b"]" * depth + b"}"


def envelope(value: Any) -> JSONDict:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "2000001", "changes": [{"field": "messages", "value": value}]}],
    }


def change(**fields: Any) -> JSONDict:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1000001"}}
    return envelope({**value, **fields})


def message(**fields: Any) -> JSONDict:
    base = {"from": "32470001111", "id": "wamid.odd", "timestamp": "1700000000", "type": "text"}
    return change(messages=[{**base, **fields}])


WRONG_SHAPES: dict[str, bytes | JSONDict] = {
    "nested 100,000 deep": nested(100_000),
    "messages is a number": change(messages=5),
    "statuses is a string": change(statuses="delivered"),
    "entry is a number": {"object": "whatsapp_business_account", "entry": 5},
    "an entry is a number": {"object": "whatsapp_business_account", "entry": [5]},
    "changes is an object": {"object": "whatsapp_business_account", "entry": [{"changes": {}}]},
    "value is a list": envelope([1, 2]),
    "a message is a number": change(messages=[5]),
    "the sender is an object": message(**{"from": {"n": 1}}, text={"body": "hallo"}),
    "the text is a number": message(text=5),
    "the text's body is a list": message(text={"body": ["hallo"]}),
    "a button reply is a number": message(type="interactive", interactive={"button_reply": 5}),
    "not JSON": b"\xff\xfe{",
    "a list": b"[1, 2, 3]",
}


@pytest.mark.parametrize("body", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
async def test_a_signed_whatsapp_body_of_the_wrong_shape_gets_a_4xx_and_one_line(
    graph: FakeGraph,
    run_bot: Callable[[], Any],
    caplog: pytest.LogCaptureFixture,
    body: bytes | JSONDict,
) -> None:
    async with run_bot():
        raw = body if isinstance(body, bytes) else graph.encode(body)
        with caplog.at_level(logging.INFO):
            caplog.clear()
            response = await graph.post_webhook(raw)
            records = [r for r in caplog.records if r.name.startswith("bot.")]
        assert 400 <= response.status_code < 500
        said = [r for r in records if r.levelno >= logging.WARNING]
        assert len(said) == 1, [r.getMessage() for r in records]
        assert "whatsapp webhook" in said[0].getMessage()
        assert problems(caplog.records) == []
        # Still serving.
        await graph.parent_text("32470001112", "/privacy")
        await graph.wait_for_messages("32470001112", 1, timeout=30)


# -- Telegram: wrong shapes ---------------------------------------------------------------------


async def test_a_telegram_update_of_the_wrong_shape_gets_a_4xx_and_one_line(
    telegram: FakeTelegram, run_bot: Callable[[], Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with run_bot() as bot:
        good = telegram.parent_text(2101, "/privacy", language_code="en")
        wrong: list[bytes | JSONDict] = [
            {"update_id": int("9" * 30), "message": good},
            {"update_id": "one", "message": good},
            {"update_id": 77, "message": 5},
            b'{"update_id": 78, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            b"[1, 2]",
        ]
        telegram.take_updates()
        for update in wrong:
            with caplog.at_level(logging.INFO):
                caplog.clear()
                response = await bot.telegram_update(update)
                records = [r for r in caplog.records if r.name.startswith("bot.")]
            assert 400 <= response.status_code < 500, update
            said = [r for r in records if r.levelno >= logging.WARNING]
            assert len(said) == 1, [r.getMessage() for r in records]
            assert problems(caplog.records) == []
        assert telegram.sent(2101) == []
        telegram.parent_text(2101, "/privacy", language_code="en")
        await bot.push()
        await telegram.wait_for_messages(2101, 1, timeout=30)


# -- lone surrogates --------------------------------------------------------------------------


async def test_lone_surrogates_are_replaced_at_the_boundary_and_the_parent_is_answered(
    graph: FakeGraph,
    telegram: FakeTelegram,
    run_bot: Callable[[], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with run_bot() as bot:
        # WhatsApp: in the text, in the sender, in the message id.
        text = {"type": "text", "text": {"body": "/privacy \ud800"}}
        for parent, fields in (
            ("32470002001", text),
            ("32470002002", {**text, "from": "3247000\ud8002002"}),
            ("32470002003", {**text, "id": "wamid.\udfff\ud800"}),
        ):
            _, body = graph.message_webhook(parent, fields)
            assert (await graph.post_webhook(body)).status_code == 200
            (reply,) = await graph.wait_for_messages(parent, 1, timeout=30)
            assert graph.text_of(reply).startswith(Lang("nl")._("Privacy, in short:"))

        # Telegram: in the text, in the sender's name, in a button's query id. (Put into the
        # update on its way, as a forger with the secret token could: the fake platform
        # itself, like Telegram, holds only real text.)
        telegram.parent_text(2201, "/mydata", language_code="en")
        telegram.parent_text(2202, "/mydata", language_code="en")
        text_update, name_update = telegram.take_updates()
        text_update["message"]["text"] += " \ud800"
        name_update["message"]["from"]["first_name"] = "Ma\udc00rie"
        for update in (text_update, name_update):
            assert (await bot.telegram_update(update)).status_code == 200
        for parent in (2201, 2202):
            (reply,) = await telegram.wait_for_messages(parent, 1, timeout=30)
            assert text_of(reply).startswith(Lang("en")._("This is what I keep about you:"))
        telegram.parent_text(2203, "/language", language_code="en")
        await bot.push()
        (languages,) = await telegram.wait_for_messages(2203, 1, timeout=30)
        telegram.press(2203, languages, "lang:fr")
        (update,) = telegram.take_updates()
        update["callback_query"]["id"] += "\ud800"
        assert (await bot.telegram_update(update)).status_code == 200
        (french,) = await telegram.wait_for_messages(2203, 1, timeout=30)
        assert text_of(french) == Lang("fr")._(
            "I will write in English from now on. What can I help you with?"
        )
        assert problems(caplog.records) == []


# -- staff actions ------------------------------------------------------------------------------


def answered(telegram: FakeTelegram, query: str) -> Callable[[], bool]:
    """Whether the bot has answered this callback query (stopped the button's spinner)."""
    return lambda: query in telegram.answered_callbacks


async def test_staff_buttons_need_the_staff_group_and_a_real_handoff_number(
    telegram: FakeTelegram, run_bot: Callable[[], Any], caplog: pytest.LogCaptureFixture
) -> None:
    parent = 2301
    picked_up = Lang("en")._("{name}, a bridge worker, is now reading your question.")
    async with run_bot() as bot:
        telegram.parent_text(parent, "/menu", language_code="en")
        await bot.push()
        menu = await until(telegram, parent, lambda m: "handoff:offer" in buttons(m))
        telegram.press(parent, menu, "handoff:offer")
        await bot.push()
        consent = await until(telegram, parent, lambda m: "handoff:yes" in buttons(m))
        telegram.press(parent, consent, "handoff:yes")
        await bot.push()
        await until(telegram, parent, lambda m: named(text_of(m)))
        await telegram.wait_for_call("createForumTopic", timeout=30)
        topic = max(telegram.topics)
        summary = await until(telegram, STAFF, lambda m: "staff:pickup:" in str(buttons(m)), topic)
        pickup = next(b for b in buttons(summary) if b.startswith("staff:pickup:"))

        # A listed worker's button with a 30-digit number: refused, and the spinner stops.
        # (The webhook answers once the update is on disk: its handling follows.)
        for data in ("staff:pickup:" + "9" * 30, "staff:close:" + "1" * 30, "staff:pickup:-1"):
            query = telegram.press(SAMIRA, summary, data, first_name="Samira", check=False)
            await bot.push()
            await eventually(answered(telegram, query), f"{data} answered")

        # The right button, pressed outside the staff group (a forged callback from her
        # private chat with the bot): refused, the handoff still waits.
        query = telegram.press(SAMIRA, summary, pickup, first_name="Samira")
        (update,) = telegram.take_updates()
        private = {"id": SAMIRA, "type": "private", "first_name": "Samira"}
        update["callback_query"]["message"]["chat"] = private
        assert (await bot.telegram_update(update)).status_code == 200
        await eventually(answered(telegram, query), "the forged press answered")
        # A staff command in a private chat is just an unknown command there.
        telegram.parent_text(SAMIRA, "/close", language_code="en", first_name="Samira")
        await bot.push()
        (unknown,) = await telegram.wait_for_messages(SAMIRA, 1, timeout=30)
        assert "handoff:offer" in buttons(unknown)  # the parent's menu, nothing closed
        handoff = bot.server.app.desk.open_for(f"telegram:{parent}")
        assert handoff is not None and handoff.status == "waiting"
        assert not any(picked_up.format(name="Samira") in text_of(m) for m in telegram.sent(parent))

        # In the staff group, the right button works.
        query = telegram.press(SAMIRA, summary, pickup, first_name="Samira")
        await bot.push()
        await until(telegram, parent, lambda m: picked_up.format(name="Samira") in text_of(m))
        assert problems(caplog.records) == []
