"""The fake Telegram Bot API, driven by the real python-telegram-bot client over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import html
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from fakes.telegram_api import FakeTelegram, Upload

PARENT = 4242
WORKER = 777
GROUP = -1001234567890
LIMIT = 15  # seconds per test: nothing may hang


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(fake) as client:
        yield client


def make_bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(
        token or fake.token,
        base_url=f"{fake.url}/bot",
        base_file_url=f"{fake.url}/file/bot",
    )


@contextlib.contextmanager
def api_error(kind: type[TelegramError], text: str) -> Iterator[None]:
    """PTB strips "Bad Request: " and capitalize()s the rest ("TOPIC_CLOSED" -> "Topic_closed")."""
    with pytest.raises(kind) as raised:
        yield
    assert text.lower() in raised.value.message.lower()


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.title(), callback_data=d) for d in data]])


async def test_get_updates_long_polls_and_confirms(fake: FakeTelegram, bot: Bot) -> None:
    async with asyncio.timeout(LIMIT):
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert 0.9 <= time.monotonic() - started < 3

        asyncio.get_running_loop().call_later(
            0.2, lambda: fake.parent_text(PARENT, "123", language_code="ar")
        )
        started = time.monotonic()
        updates = await bot.get_updates(timeout=5)
        assert time.monotonic() - started < 2
        assert len(updates) == 1
        message = updates[0].message
        assert message is not None
        assert message.text == "123"
        assert message.chat.id == PARENT
        assert message.chat.type == "private"
        assert message.from_user is not None
        assert message.from_user.language_code == "ar"
        assert isinstance(message.date, dtm.datetime)

        params = fake.calls[-1][1]
        assert fake.calls[-1][0] == "getUpdates"
        assert params["timeout"] == 5  # ints decoded

        # Unconfirmed updates come again; an offset above their id confirms them.
        again = await bot.get_updates(timeout=0)
        assert [u.update_id for u in again] == [updates[0].update_id]
        assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
        assert fake.pending_update_count() == 0
        assert fake.update_count() == 1

        fake.parent_text(PARENT, "/start", language_code=None)
        (update,) = await bot.get_updates(offset=updates[0].update_id + 1, timeout=1)
        assert update.update_id == updates[0].update_id + 1
        assert update.message.from_user.language_code is None
        assert update.message.entities == (MessageEntity("bot_command", 0, 6),)


async def test_send_message_html_keyboard_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    fake.parent_text(PARENT, "hallo")
    raw = "Use <b> tags, *stars* & _underscores_ 😀"
    markup = keyboard("yes", "no")
    message = await bot.send_message(
        PARENT, f"<b>Tip</b>: {html.escape(raw)}", parse_mode="HTML", reply_markup=markup
    )
    assert message.text == f"Tip: {raw}"
    assert message.entities == (MessageEntity("bold", 0, 3),)
    assert message.reply_markup == markup
    assert message.from_user.id == fake.bot_id
    assert message.message_id == 2  # message ids count per chat: the parent's was 1

    method, params = fake.calls[-1]
    assert method == "sendMessage"
    assert params["text"] == f"<b>Tip</b>: {html.escape(raw)}"  # exactly what the bot sent
    assert params["chat_id"] == PARENT
    assert params["reply_markup"] == markup.to_dict()
    assert fake.sent(PARENT)[-1]["text"] == f"Tip: {raw}"

    for text in ("123", "[1]", "true", '{"a": 1}'):
        await bot.send_message(PARENT, text)
        assert fake.calls[-1][1]["text"] == text

    with api_error(BadRequest, "message is too long"):
        await bot.send_message(PARENT, "x" * 4097)
    await bot.send_message(PARENT, "x" * 4096)
    with api_error(BadRequest, "can't parse entities"):
        await bot.send_message(PARENT, "a < b", parse_mode="HTML")
    with api_error(BadRequest, 'unsupported start tag "br" at byte offset 1'):
        await bot.send_message(PARENT, "a<br>b", parse_mode="HTML")
    with api_error(BadRequest, "BUTTON_DATA_INVALID"):
        await bot.send_message(PARENT, "x", reply_markup=keyboard("d" * 65))
    assert fake.failed_calls[-1][0] == "sendMessage"
    with api_error(Forbidden, "bot can't initiate conversation"):
        await bot.send_message(PARENT + 1, "never started the bot")


async def test_press_gives_a_callback_query(fake: FakeTelegram, bot: Bot) -> None:
    async with asyncio.timeout(LIMIT):
        fake.parent_text(PARENT, "hallo")
        (start,) = await bot.get_updates(timeout=1)
        sent = await bot.send_message(PARENT, "Kies", reply_markup=keyboard("yes", "no"))
        (shown,) = await fake.wait_for_messages(PARENT)
        assert shown["message_id"] == sent.message_id

        query_id = fake.press(PARENT, shown, "no", first_name="Amina")
        (update,) = await bot.get_updates(offset=start.update_id + 1, timeout=1)
        query = update.callback_query
        assert isinstance(query, CallbackQuery)
        assert query.id == query_id
        assert query.data == "no"
        assert query.from_user.first_name == "Amina"
        assert query.message.message_id == sent.message_id
        assert query.message.chat.id == PARENT
        assert query.message.reply_markup == keyboard("yes", "no")

        assert await bot.answer_callback_query(query.id, text="Oké")
        assert fake.answered_callbacks[query_id]["text"] == "Oké"
        with api_error(BadRequest, "query is too old"):
            await bot.answer_callback_query(query.id)
        with pytest.raises(AssertionError, match="no button"):
            fake.press(PARENT, shown, "maybe")

        # editMessageText without reply_markup removes the keyboard, like Telegram.
        edited = await bot.edit_message_text("Gekozen: nee", PARENT, sent.message_id)
        assert edited.text == "Gekozen: nee"
        assert edited.reply_markup is None
        assert fake.edits()[-1]["text"] == "Gekozen: nee"
        with api_error(BadRequest, "message is not modified"):
            await bot.edit_message_text("Gekozen: nee", PARENT, sent.message_id)
        assert fake.sent(PARENT)[-1]["text"] == "Gekozen: nee"

        assert await bot.delete_message(PARENT, sent.message_id)
        with api_error(BadRequest, "message to delete not found"):
            await bot.delete_message(PARENT, sent.message_id)


async def test_forum_topics(fake: FakeTelegram, bot: Bot) -> None:
    async with asyncio.timeout(LIMIT):
        topic = await bot.create_forum_topic(GROUP, "Gezin 1")
        assert topic.message_thread_id == 100
        assert topic.name == "Gezin 1"
        second = await bot.create_forum_topic(GROUP, "Gezin 2")
        assert second.message_thread_id == 101
        assert fake.topics[100] == {
            "chat_id": GROUP,
            "name": "Gezin 1",
            "closed": False,
            "icon_color": 7322096,
        }

        message = await bot.send_message(GROUP, "Nieuwe vraag", message_thread_id=100)
        assert message.message_thread_id == 100
        assert message.is_topic_message
        assert message.chat.is_forum
        assert message.chat.id == GROUP
        assert fake.calls[-1][1]["chat_id"] == GROUP
        (shown,) = await fake.wait_for_messages(GROUP, thread_id=100)
        assert shown["text"] == "Nieuwe vraag"
        assert fake.sent(GROUP, thread_id=101) == []

        assert await bot.edit_forum_topic(GROUP, 100, name="Gezin 1 ✓")
        assert fake.topics[100]["name"] == "Gezin 1 ✓"
        assert await bot.close_forum_topic(GROUP, 100)
        assert fake.topics[100]["closed"]
        with api_error(BadRequest, "TOPIC_CLOSED"):
            await bot.send_message(GROUP, "te laat", message_thread_id=100)
        assert await bot.reopen_forum_topic(GROUP, 100)
        await bot.send_message(GROUP, "weer open", message_thread_id=100)
        with api_error(BadRequest, "message thread not found"):
            await bot.send_message(GROUP, "nergens", message_thread_id=555)

        fake.group_text(GROUP, WORKER, "/close@wegwijs_test_bot now", thread_id=100)
        (update,) = await bot.get_updates(timeout=1)
        assert update.message.message_thread_id == 100
        assert update.message.is_topic_message
        assert update.message.chat.type == "supergroup"
        assert update.message.from_user.id == WORKER
        assert update.message.entities == (MessageEntity("bot_command", 0, 23),)


async def test_copy_message(fake: FakeTelegram, bot: Bot) -> None:
    async with asyncio.timeout(LIMIT):
        photo = fake.parent_media(PARENT, "photo", caption="mijn brief")
        topic = await bot.create_forum_topic(GROUP, "Gezin")
        thread = topic.message_thread_id
        copied = await bot.copy_message(
            GROUP, PARENT, photo["message_id"], message_thread_id=thread, caption="Van ouder"
        )
        (shown,) = await fake.wait_for_messages(GROUP, thread_id=thread)
        assert shown["message_id"] == copied.message_id
        assert shown["photo"] == photo["photo"]
        assert shown["caption"] == "Van ouder"
        assert shown["is_topic_message"]

        voice = fake.group_media(GROUP, WORKER, "voice", thread_id=thread)
        fake.parent_text(PARENT, "hallo")  # the parent has started the bot
        copied = await bot.copy_message(PARENT, GROUP, voice["message_id"])
        shown = fake.sent(PARENT)[-1]
        assert shown["message_id"] == copied.message_id
        assert shown["voice"] == voice["voice"]
        assert "message_thread_id" not in shown

        text = fake.group_text(GROUP, WORKER, "Ik bel je morgen", thread_id=thread)
        await bot.copy_message(PARENT, GROUP, text["message_id"])
        assert fake.sent(PARENT)[-1]["text"] == "Ik bel je morgen"

        with api_error(BadRequest, "message to copy not found"):
            await bot.copy_message(PARENT, GROUP, 9999)


async def test_send_media_by_file_id_and_upload(fake: FakeTelegram, bot: Bot) -> None:
    photo = fake.parent_media(PARENT, "photo")
    file_id = photo["photo"][-1]["file_id"]
    message = await bot.send_photo(PARENT, file_id, caption="<i>terug</i>", parse_mode="HTML")
    assert message.photo[-1].file_id == file_id
    assert message.caption == "terug"
    assert message.caption_entities == (MessageEntity("italic", 0, 5),)
    assert fake.calls[-1][1]["photo"] == file_id

    message = await bot.send_photo(PARENT, b"\x89PNG fake image bytes", caption="upload")
    assert message.photo and message.photo[-1].file_id != file_id
    upload = fake.calls[-1][1]["photo"]
    assert isinstance(upload, Upload)
    assert upload.content == b"\x89PNG fake image bytes"

    document = await bot.send_document(PARENT, b"%PDF-1.4 ...", filename="folder.pdf")
    assert document.document.file_name == "folder.pdf"
    assert document.document.mime_type == "application/pdf"

    voice = fake.parent_media(PARENT, "voice")
    sent_voice = await bot.send_voice(PARENT, voice["voice"]["file_id"])
    assert sent_voice.voice.file_id == voice["voice"]["file_id"]
    audio = await bot.send_audio(PARENT, b"ID3 fake mp3", filename="uitleg.mp3", title="Uitleg")
    assert audio.audio.title == "Uitleg"
    assert [m.get("audio", {}).get("title") for m in fake.sent(PARENT)][-1] == "Uitleg"

    with api_error(BadRequest, "wrong file identifier"):
        await bot.send_photo(PARENT, "no-such-file-id")
    with api_error(BadRequest, "type of file mismatch"):
        await bot.send_photo(PARENT, voice["voice"]["file_id"])


async def test_get_file_and_download(fake: FakeTelegram, bot: Bot) -> None:
    voice = fake.group_media(GROUP, WORKER, "voice")
    file_id = voice["voice"]["file_id"]
    fake.set_file_content(file_id, b"OggS voice bytes")
    file = await bot.get_file(file_id)
    assert file.file_path == f"{fake.url}/file/bot{fake.token}/files/{file_id}"
    assert await file.download_as_bytearray() == bytearray(b"OggS voice bytes")

    photo = fake.parent_media(PARENT, "photo")
    file = await bot.get_file(photo["photo"][-1]["file_id"])
    data = await file.download_as_bytearray()
    assert len(data) == photo["photo"][-1]["file_size"] == file.file_size

    with api_error(BadRequest, "invalid file_id"):
        await bot.get_file("nope")


async def test_injected_faults(
    fake: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as timedelta, no warning
    fake.parent_text(PARENT, "hallo")
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(PARENT, "eerste")
    assert raised.value.retry_after == dtm.timedelta(seconds=7)

    fake.fail_next("sendMessage", 500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError) as failed:
            await bot.send_message(PARENT, "tweede")
        assert type(failed.value) is NetworkError
    await bot.send_message(PARENT, "derde")

    assert [p["text"] for m, p in fake.failed_calls] == ["eerste", "tweede", "tweede"]
    assert [p["text"] for m, p in fake.calls if m == "sendMessage"] == ["derde"]
    assert fake.errors[0] == ("sendMessage", 429, "Too Many Requests: retry after 7")


async def test_outages_per_chat_and_updates_that_cannot_be_confirmed(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.add_user(PARENT)
    fake.add_user(WORKER)
    fake.fail_while("sendMessage", 502, chat_id=PARENT)
    for _ in range(2):  # an outage lasts until recover()
        with pytest.raises(NetworkError):
            await bot.send_message(PARENT, "down")
    await bot.send_message(WORKER, "another chat is not affected")
    failed = await fake.wait_for_failed_call("sendMessage", count=2)
    assert [p["text"] for p in failed] == ["down", "down"]
    fake.recover("sendMessage")
    await bot.send_message(PARENT, "back")

    fake.hold_confirmations()
    fake.parent_text(PARENT, "hallo")
    (update,) = await bot.get_updates(timeout=0)
    with pytest.raises(NetworkError):  # the confirming poll fails, and so does every next one
        await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert fake.pending_update_count() == 1
    fake.recover()
    (again,) = await bot.get_updates(timeout=0)  # a new process gets it again
    assert again.update_id == update.update_id


async def test_wrong_token_is_rejected(fake: FakeTelegram) -> None:
    bot = make_bot(fake, token="999:WRONG")
    with pytest.raises(InvalidToken):
        await bot.initialize()
    await bot.shutdown()
    assert fake.errors == [("getMe", 401, "Unauthorized")]


async def test_raw_http_answers(fake: FakeTelegram) -> None:
    base = f"{fake.url}/bot{fake.token}"
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.post(f"{base}/noSuchMethod")
        assert answer.status_code == 404
        assert answer.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        answer = await client.post(f"{base}/sendMessage", data={"text": "hoi"})
        assert answer.status_code == 400
        assert answer.json()["description"] == "Bad Request: chat_id is empty"
        fake.group_text(GROUP, WORKER, "hallo")
        answer = await client.post(f"{base}/sendMessage", data={"chat_id": str(GROUP)})
        assert answer.json()["description"] == "Bad Request: message text is empty"
        answer = await client.post(
            f"{base}/sendMessage", json={"chat_id": GROUP, "text": "42", "reply_markup": None}
        )
        assert answer.json()["ok"]
        assert answer.json()["result"]["text"] == "42"
        assert fake.calls[-1] == (
            "sendMessage",
            {"chat_id": GROUP, "text": "42", "reply_markup": None},
        )
        answer = await client.get(f"{base}/getMe")
        assert answer.json()["result"]["username"] == "wegwijs_test_bot"
        answer = await client.get(f"{fake.url}/botWRONG:TOKEN/getMe")
        assert answer.status_code == 401


async def test_wait_for_helpers_time_out_with_a_dump(fake: FakeTelegram, bot: Bot) -> None:
    fake.parent_text(PARENT, "hallo")
    await bot.send_message(PARENT, "een")
    await bot.send_message(PARENT, "twee")
    first = await fake.wait_for_messages(PARENT)
    second = await fake.wait_for_messages(PARENT)
    assert [first[0]["text"], second[0]["text"]] == ["een", "twee"]
    with pytest.raises(AssertionError, match=r"(?s)1 new message.*sendMessage"):
        await fake.wait_for_messages(PARENT, timeout=0.2)

    params = await fake.wait_for_call("sendMessage", lambda p: p["text"] == "twee")
    assert params["text"] == "twee"
    with pytest.raises(AssertionError, match="sendMessage"):
        await fake.wait_for_call("sendMessage", lambda p: p["text"] == "twee", timeout=0.2)
    waiter = asyncio.create_task(fake.wait_for_call("sendChatAction", timeout=5))
    await asyncio.sleep(0.05)
    await bot.send_chat_action(PARENT, "typing")
    assert (await waiter)["action"] == "typing"


async def test_application_polls_echoes_and_handles_buttons(fake: FakeTelegram) -> None:
    errors: list[object] = []

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(
            f"echo: {update.effective_message.text}", reply_markup=keyboard("ok")
        )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text("welkom")

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("bedankt")
        await query.edit_message_text(f"gekozen: {query.data}")

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error)

    app: Application = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{fake.url}/bot")
        .base_file_url(f"{fake.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(button))
    app.add_error_handler(on_error)

    async with asyncio.timeout(LIMIT):
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            fake.parent_text(PARENT, "/start")
            fake.parent_text(PARENT, "Waar vind ik hulp?")
            welcome, reply = await fake.wait_for_messages(PARENT, count=2)
            assert welcome["text"] == "welkom"
            assert reply["text"] == "echo: Waar vind ik hulp?"

            query_id = fake.press(PARENT, reply, "ok")
            answered = await fake.wait_for_call("answerCallbackQuery")
            assert answered["callback_query_id"] == query_id
            assert answered["text"] == "bedankt"
            edit = await fake.wait_for_call("editMessageText")
            assert edit["message_id"] == reply["message_id"]
            assert fake.sent(PARENT)[-1]["text"] == "gekozen: ok"
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    assert errors == []
    assert fake.pending_update_count() == 0  # the final getUpdates confirmed everything
    assert fake.calls[0][0] == "getMe"
    assert "deleteWebhook" in [method for method, _ in fake.calls]


async def test_stop_releases_a_long_poll(fake: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await fake.stop()
    assert await asyncio.wait_for(poll, 5) == ()  # released with "no updates"
    assert time.monotonic() - started < 3
