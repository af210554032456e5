"""A fake Telegram Bot API server for end-to-end tests.

The real python-telegram-bot ``Bot``/``Application`` talks to it over real HTTP::

    async with FakeTelegram() as fake:
        bot = telegram.Bot(fake.token, base_url=f"{fake.url}/bot",
                           base_file_url=f"{fake.url}/file/bot")

It runs uvicorn as a task in the current event loop, keeps everything in memory, and answers
like Telegram does (same JSON shapes, same HTTP status codes, the same error descriptions for the
mistakes a bot typically makes: unparsable HTML, too long texts, closed topics, unmodified edits,
unknown messages, stale callback queries, messaging users who never started the bot).

Tests inject what people do (``parent_text``, ``group_media``, ``press`` ...), which queues
Updates for ``getUpdates``, and inspect what the bot did (``calls``, ``sent``,
``wait_for_messages``, ``wait_for_call``, ``topics`` ...). Faults: ``fail_next`` (the next calls
of a method), ``fail_while`` / ``recover`` (an outage, optionally for one chat), and
``hold_confirmations`` (fetched updates that can never be confirmed, as when the bot dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes.serving import LocalServer

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
DEFAULT_ICON_COLOR = 7322096
MEDIA_KINDS = ("photo", "document", "voice", "audio", "location")
SENDABLE_MEDIA = ("photo", "document", "voice", "audio")
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}

# How python-telegram-bot encodes parameters: every value is a string; str values are sent
# verbatim, everything else is json.dumps()-ed (ints, bools, dicts, lists). So decoding depends
# on the parameter name, never on what the value looks like ("123" may be a text).
INT_PARAMS = {
    "chat_id",
    "from_chat_id",
    "message_id",
    "message_thread_id",
    "reply_to_message_id",
    "offset",
    "limit",
    "timeout",
    "cache_time",
    "duration",
    "width",
    "height",
    "icon_color",
    "user_id",
    "max_connections",
    "video_start_timestamp",
}
FLOAT_PARAMS = {"latitude", "longitude", "horizontal_accuracy"}
BOOL_PARAMS = {
    "disable_notification",
    "protect_content",
    "show_alert",
    "drop_pending_updates",
    "disable_web_page_preview",
    "allow_sending_without_reply",
    "allow_paid_broadcast",
    "has_spoiler",
    "disable_content_type_detection",
    "show_caption_above_media",
}
JSON_PARAMS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "allowed_updates",
    "commands",
    "scope",
    "link_preview_options",
    "reply_parameters",
    "message_ids",
    "media",
}

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_TAG_START_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")


@dataclass(frozen=True)
class Upload:
    """A file uploaded in a multipart request, as recorded in ``calls`` params."""

    filename: str
    mime_type: str
    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {self.mime_type!r}, {self.size} bytes)"


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status + Telegram's description."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _jsonable(value: Any) -> Any:
    """A deep copy that is plain JSON (what goes over the wire and back to tests)."""
    return json.loads(json.dumps(value))


def _decode_params(raw: dict[str, Any]) -> JSONDict:
    """Decode PTB's string-encoded parameters by name (see INT_PARAMS & co.)."""
    params: JSONDict = {}
    for key, value in raw.items():
        if not isinstance(value, str):  # a JSON body, or an Upload
            params[key] = value
            continue
        try:
            if key in INT_PARAMS:
                # chat_id may also be "@channelusername"
                params[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
            elif key in FLOAT_PARAMS:
                params[key] = float(value)
            elif key in BOOL_PARAMS:
                params[key] = value.lower() in ("true", "1")
            elif key in JSON_PARAMS:
                params[key] = json.loads(value)
            else:
                params[key] = value
        except ValueError as exc:
            raise _bad(f"can't parse {key} JSON object") from exc
    return params


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """A small multipart/form-data parser (python-multipart is not a dependency)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _bad("multipart boundary is missing")
    boundary = b"--" + match.group(1).encode()
    fields: dict[str, Any] = {}
    for part in body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        part = part.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = part.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        attrs = {
            key.lower(): unquote(value.replace("\\\\", "\\"))
            for key, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', disposition)
        }
        name = attrs.get("name")
        if name is None:
            continue
        if "filename" in attrs:
            fields[name] = Upload(
                filename=attrs["filename"],
                mime_type=headers.get("content-type", "application/octet-stream"),
                content=content,
            )
        else:
            fields[name] = content.decode("utf-8")
    return fields


class _HtmlEntities(HTMLParser):
    """Telegram's parse_mode=HTML: plain text + MessageEntity list, or a 400 like Telegram's."""

    SIMPLE: ClassVar[dict[str, str]] = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "code": "code",
        "pre": "pre",
    }
    OTHER: ClassVar[set[str]] = {"a", "span", "blockquote", "tg-emoji"}

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.length = 0  # in UTF-16 code units, like Telegram's offsets
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[JSONDict] = []

    def _byte_offset(self) -> int:
        line, col = self.getpos()
        lines = self.source.split("\n")
        index = sum(len(lines[i]) + 1 for i in range(line - 1)) + col
        return len(self.source[:index].encode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.SIMPLE and tag not in self.OTHER:
            raise _bad(
                f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset '
                f"{self._byte_offset()}"
            )
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise _bad(
                f'can\'t parse entities: Tag "span" must have class "tg-spoiler" at byte offset '
                f"{self._byte_offset()}"
            )
        self.stack.append((tag, self.length, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise _bad(
            f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset '
            f"{self._byte_offset()}"
        )

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            expected = f'"</{self.stack[-1][0]}>"' if self.stack else "no end tag"
            raise _bad(
                f"can't parse entities: Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected {expected}, found "</{tag}>"'
            )
        _, start, attrs = self.stack.pop()
        length = self.length - start
        css_class = attrs.get("class") or ""
        inside_pre = tag == "code" and self.stack and self.stack[-1][0] == "pre"
        if inside_pre and css_class.startswith("language-"):  # <pre><code class=..>: one entity
            self.stack[-1][2]["language"] = css_class.removeprefix("language-")
            return
        if length == 0:
            return
        entity: JSONDict = {"offset": start, "length": length}
        if tag in self.SIMPLE:
            entity["type"] = self.SIMPLE[tag]
            if tag == "pre" and attrs.get("language"):
                entity["language"] = attrs["language"]
        elif tag == "span":
            entity["type"] = "spoiler"
        elif tag == "a":
            entity.update(type="text_link", url=attrs.get("href") or "")
        elif tag == "blockquote":
            expandable = "expandable" in attrs
            entity["type"] = "expandable_blockquote" if expandable else "blockquote"
        else:  # tg-emoji
            entity.update(type="custom_emoji", custom_emoji_id=attrs.get("emoji-id") or "")
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += _utf16_len(data)

    def unknown_decl(self, data: str) -> None:
        raise _bad("can't parse entities: Unsupported declaration")

    def handle_comment(self, data: str) -> None:
        raise _bad('can\'t parse entities: Unsupported start tag "!--"')

    def handle_decl(self, decl: str) -> None:
        self.unknown_decl(decl)

    def handle_pi(self, data: str) -> None:
        self.unknown_decl(data)

    def parse(self) -> tuple[str, list[JSONDict]]:
        # Telegram rejects every "<" that does not open a supported tag ("a < b" is an error).
        for index, char in enumerate(self.source):
            if char == "<" and not _TAG_START_RE.match(self.source, index):
                offset = len(self.source[:index].encode("utf-8"))
                raise _bad(
                    f'can\'t parse entities: Unsupported start tag "" at byte offset {offset}'
                )
        self.feed(self.source)
        self.close()
        if self.stack:
            raise _bad(
                "can't parse entities: Can't find end tag corresponding to start tag "
                f'"{self.stack[-1][0]}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


def _formatted(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSONDict]]:
    """The text Telegram stores for ``text`` + ``parse_mode``/``entities``."""
    if parse_mode and parse_mode.upper() == "HTML":
        return _HtmlEntities(text).parse()
    if parse_mode and parse_mode.lower() not in ("markdown", "markdownv2"):
        raise _bad(f"unsupported parse_mode {parse_mode!r}")
    # Markdown/MarkdownV2 are not parsed by the fake: the text is stored as sent.
    return text, list(entities or [])


def _command_entities(text: str) -> list[JSONDict]:
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group(0))}]


Handler = Callable[[JSONDict], Awaitable[Any]]


class FakeTelegram:
    """An in-memory Telegram Bot API served over real HTTP (see the module docstring)."""

    def __init__(
        self, token: str = "123456:TEST-TOKEN", bot_username: str = "wegwijs_test_bot"
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.url = ""

        # What the bot did.
        self.calls: list[tuple[str, JSONDict]] = []
        self.failed_calls: list[tuple[str, JSONDict]] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, status, description)
        self.answered_callbacks: dict[str, JSONDict] = {}
        self.topics: dict[int, JSONDict] = {}
        self.deleted_topics: dict[int, JSONDict] = {}
        self.commands: dict[str, list[JSONDict]] = {}  # scope/language key -> commands
        self.deleted: list[tuple[int, int]] = []  # (chat_id, message_id)
        self.webhook_url = ""
        self.server_errors: list[BaseException] = []  # bugs in the fake itself

        # World state.
        self._chats: dict[int, JSONDict] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._sent_keys: list[tuple[int, int]] = []
        self._next_message_id: dict[int, int] = {}
        self._known_threads: set[tuple[int, int]] = set()
        self._files: dict[str, JSONDict] = {}
        self._file_counter = 0
        self._next_thread_id = 100
        self._callback_queries: dict[str, JSONDict] = {}
        self._callback_counter = 0

        # Updates.
        self._updates: list[JSONDict] = []  # queued, not yet confirmed
        self._next_update_id = 1000
        self._update_total = 0
        self._updates_changed = asyncio.Event()

        # Waiting helpers.
        self._changed = asyncio.Event()
        self._message_cursors: dict[tuple[int, int | None], int] = {}
        self._returned_calls: set[int] = set()
        self._faults: dict[str, list[tuple[int, int | None]]] = {}
        # Outages: method -> (status, retry_after, chat_id or None for every chat).
        self._outages: dict[str, list[tuple[int, int | None, int | None]]] = {}
        self._hold_confirmations = False

        self._http: LocalServer | None = None
        self._stopping = False
        self._handlers: dict[str, Handler] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getMyCommands": self._get_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "createForumTopic": self._create_forum_topic,
                "closeForumTopic": self._close_forum_topic,
                "deleteForumTopic": self._delete_forum_topic,
                "reopenForumTopic": self._reopen_forum_topic,
                "editForumTopic": self._edit_forum_topic,
                "copyMessage": self._copy_message,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendVoice": self._send_voice,
                "sendAudio": self._send_audio,
                "getFile": self._get_file,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1:<free port> as a task of the running loop; return when ready."""
        if self._http is not None:
            raise RuntimeError("FakeTelegram already started")
        self._stopping = False
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._file_endpoint, methods=["GET"]),
                Route("/{rest:path}", self._not_found, methods=["GET", "POST"]),
            ]
        )
        self._http = LocalServer(app, "FakeTelegram")
        self.url = await self._http.start()

    async def stop(self) -> None:
        """Release long-polling waiters and stop the server."""
        self._stopping = True
        self._wake_updates()
        if self._http is not None:
            await self._http.stop()
            self._http = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ what people do

    def add_user(self, user_id: int, first_name: str = "Parent") -> None:
        """Make a private chat known without an update, as if the user had started the bot."""
        self._chats.setdefault(
            user_id, {"id": user_id, "type": "private", "first_name": first_name}
        )

    def add_group(self, chat_id: int, title: str = "Wegwijs team", is_forum: bool = True) -> None:
        """Make a (forum) supergroup known, e.g. to set its title."""
        chat: JSONDict = {"id": chat_id, "type": "supergroup", "title": title}
        if is_forum:
            chat["is_forum"] = True
        self._chats[chat_id] = chat

    def parent_text(
        self,
        user_id: int,
        text: str,
        language_code: str | None = "nl",
        first_name: str = "Parent",
    ) -> JSONDict:
        """A parent writes to the bot in a private chat; returns the Message dict."""
        message = self._incoming_private(user_id, first_name, language_code)
        message["text"] = text
        if entities := _command_entities(text):
            message["entities"] = entities
        return self._queue_message(message)

    def parent_media(
        self,
        user_id: int,
        kind: str,
        caption: str | None = None,
        language_code: str | None = "nl",
    ) -> JSONDict:
        """A parent sends a photo|document|voice|audio|location; returns the Message dict."""
        message = self._incoming_private(user_id, "Parent", language_code)
        message.update(self._fabricate_media(kind, caption))
        return self._queue_message(message)

    def group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        thread_id: int | None = None,
        first_name: str = "Worker",
    ) -> JSONDict:
        """Someone writes in a forum supergroup (in topic ``thread_id``); returns the Message."""
        message = self._incoming_group(chat_id, user_id, first_name, thread_id)
        message["text"] = text
        if entities := _command_entities(text):
            message["entities"] = entities
        return self._queue_message(message)

    def group_media(
        self,
        chat_id: int,
        user_id: int,
        kind: str,
        thread_id: int | None = None,
        caption: str | None = None,
        first_name: str = "Worker",
    ) -> JSONDict:
        """Someone sends media in a forum supergroup; returns the Message dict."""
        message = self._incoming_group(chat_id, user_id, first_name, thread_id)
        message.update(self._fabricate_media(kind, caption))
        return self._queue_message(message)

    def press(
        self,
        user_id: int,
        message: JSONDict,
        data: str,
        first_name: str = "Someone",
        check: bool = True,
    ) -> str:
        """Press the inline button with callback ``data`` on a message the bot sent.

        ``check`` (default) asserts that the message currently shows such a button.
        Returns the callback query id.
        """
        key = (message["chat"]["id"], message["message_id"])
        stored = self._messages.get(key)
        if stored is None or key in self.deleted:
            raise AssertionError(f"press(): unknown or deleted message {key}")
        if check:
            buttons = [
                button.get("callback_data")
                for row in (stored.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row
            ]
            if data not in buttons:
                raise AssertionError(
                    f"press(): message {key} has no button with callback_data {data!r}; "
                    f"it shows {buttons}"
                )
        self._callback_counter += 1
        query_id = f"{self.bot_id}{self._callback_counter:08d}"
        query = {
            "id": query_id,
            "from": self._user(user_id, first_name, "nl"),
            "message": copy.deepcopy(stored),
            "chat_instance": str(-abs(key[0]) * 31 - self.bot_id),
            "data": data,
        }
        self._callback_queries[query_id] = query
        self._queue_update({"callback_query": query})
        return query_id

    def update_count(self) -> int:
        """How many updates were ever queued (messages and callback queries)."""
        return self._update_total

    def pending_update_count(self) -> int:
        """How many queued updates getUpdates has not had confirmed yet."""
        return len(self._updates)

    def take_updates(self) -> list[JSONDict]:
        """The queued updates, taken out of the queue: for a test that plays Telegram's side
        of webhook mode (the fake does not POST them itself), re-delivering each update until
        the bot acknowledges it with 200, as Telegram does."""
        taken, self._updates = self._updates, []
        return taken

    def set_file_content(self, file_id: str, content: bytes) -> None:
        """What a download of ``file_id`` returns (default: ``file_size`` fake bytes)."""
        self._files[file_id]["content"] = content
        self._files[file_id]["file_size"] = len(content)

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a file the fake knows (one a user sent, or one the bot uploaded)."""
        return bytes(self._files[file_id]["content"])

    # ------------------------------------------------------------------ what the bot did

    def sent(self, chat_id: int | None = None, thread_id: int | None = None) -> list[JSONDict]:
        """Messages the bot created, in order, in their current state (after edits)."""
        result = []
        for key in self._sent_keys:
            message = self._messages[key]
            if chat_id is not None and message["chat"]["id"] != chat_id:
                continue
            if thread_id is not None and message.get("message_thread_id") != thread_id:
                continue
            result.append(copy.deepcopy(message))
        return result

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """The current state of any message the fake knows (incoming or sent)."""
        stored = self._messages.get((chat_id, message_id))
        return copy.deepcopy(stored) if stored is not None else None

    def edits(self) -> list[JSONDict]:
        """Params of the successful editMessageText / editMessageReplyMarkup calls."""
        return [
            params
            for method, params in self.calls
            if method.lower() in ("editmessagetext", "editmessagereplymarkup")
        ]

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        thread_id: int | None = None,
        timeout: float = 10.0,
    ) -> list[JSONDict]:
        """Wait for ``count`` messages sent to chat/thread since the previous wait there.

        Returns exactly the next ``count`` messages (deterministic even if the bot sent more);
        the following wait for the same chat/thread pair starts after them.
        """
        cursor_key = (chat_id, thread_id)

        def ready() -> list[JSONDict] | None:
            start = self._message_cursors.get(cursor_key, 0)
            messages = self.sent(chat_id, thread_id)
            if len(messages) - start >= count:
                self._message_cursors[cursor_key] = start + count
                return messages[start : start + count]
            return None

        where = f"chat {chat_id}" + (f" thread {thread_id}" if thread_id is not None else "")
        return await self._wait(ready, timeout, f"{count} new message(s) in {where}")

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[JSONDict], bool] = lambda params: True,
        timeout: float = 10.0,
    ) -> JSONDict:
        """Wait for a successful call of ``method`` matching ``predicate`` not returned before."""

        def ready() -> JSONDict | None:
            for index, (name, params) in enumerate(self.calls):
                if (
                    index not in self._returned_calls
                    and name.lower() == method.lower()
                    and predicate(params)
                ):
                    self._returned_calls.add(index)
                    return params
            return None

        return await self._wait(ready, timeout, f"a {method} call")

    # ------------------------------------------------------------------ faults

    def fail_next(
        self, method: str, status: int = 500, times: int = 1, retry_after: int | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``status`` (429: RetryAfter)."""
        if status == 429 and retry_after is None:
            retry_after = 1  # Telegram always says how long to wait
        self._faults.setdefault(method.lower(), []).extend([(status, retry_after)] * times)

    def fail_while(
        self,
        method: str,
        status: int = 502,
        *,
        chat_id: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Every call of ``method`` (only those to ``chat_id``, if given) fails with ``status``
        until :meth:`recover`: an outage of unknown length rather than a hiccup, so a test
        decides exactly when it ends (e.g. only after the bot was killed and restarted)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._outages.setdefault(method.lower(), []).append((status, retry_after, chat_id))

    def recover(self, method: str | None = None) -> None:
        """End the outages of ``method`` (of every method when None) and any held updates."""
        if method is None:
            self._outages.clear()
            self._hold_confirmations = False
        else:
            self._outages.pop(method.lower(), None)

    def hold_confirmations(self) -> None:
        """Once getUpdates next delivers something, it fails with 502 until :meth:`recover`.

        The bot then holds updates it can never confirm (a poll with a higher offset), exactly
        as when it dies right after fetching them: Telegram delivers them again to the next
        process. Deterministic, unlike trying to kill a process between two polls."""
        self._hold_confirmations = True

    async def wait_for_failed_call(
        self,
        method: str,
        predicate: Callable[[JSONDict], bool] = lambda params: True,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[JSONDict]:
        """Wait until ``count`` failed calls of ``method`` match ``predicate`` (counted from the
        start); returns their params."""

        def ready() -> list[JSONDict] | None:
            found = [
                params
                for name, params in self.failed_calls
                if name.lower() == method.lower() and predicate(params)
            ]
            return found if len(found) >= count else None

        return await self._wait(ready, timeout, f"{count} failed {method} call(s)")

    def _outage(self, method: str, params: JSONDict) -> ApiError | None:
        for status, retry_after, chat_id in self._outages.get(method.lower(), []):
            if chat_id is None or params.get("chat_id") == chat_id:
                return ApiError(status, self._fault_description(status, retry_after), retry_after)
        return None

    # ------------------------------------------------------------------ internals: waiting

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, ready: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            event = self._changed
            result = ready()
            if result is not None:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"Timed out after {timeout} s waiting for {what}.\n{self.dump()}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def dump(self, last: int = 25) -> str:
        """The last API calls (without getUpdates), failures and sent messages, for messages."""

        def short(value: Any) -> str:
            text = repr(value)
            return text if len(text) <= 400 else text[:400] + "…"

        calls = [(m, p) for m, p in self.calls if m.lower() != "getupdates"][-last:]
        lines = [f"Last {len(calls)} calls (getUpdates left out):"]
        lines += [f"  {method} {short(params)}" for method, params in calls] or ["  (none)"]
        if self.errors:
            lines.append("Failed calls:")
            lines += [f"  {m} -> {s} {d}" for m, s, d in self.errors[-last:]]
        if self.server_errors:
            lines.append(f"Errors inside the fake: {self.server_errors!r}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ internals: world

    def _now(self) -> int:
        return int(time.time())

    def _user(self, user_id: int, first_name: str, language_code: str | None) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def _bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Wegwijs",
            "username": self.bot_username,
        }

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _incoming_private(
        self, user_id: int, first_name: str, language_code: str | None
    ) -> JSONDict:
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        self._chats[user_id] = chat
        return {
            "message_id": self._new_message_id(user_id),
            "from": self._user(user_id, first_name, language_code),
            "chat": dict(chat),
            "date": self._now(),
        }

    def _incoming_group(
        self, chat_id: int, user_id: int, first_name: str, thread_id: int | None
    ) -> JSONDict:
        if chat_id not in self._chats:
            self.add_group(chat_id)
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": self._user(user_id, first_name, "nl"),
            "chat": dict(self._chats[chat_id]),
            "date": self._now(),
        }
        if thread_id is not None:
            self._known_threads.add((chat_id, thread_id))
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return message

    def _queue_message(self, message: JSONDict) -> JSONDict:
        key = (message["chat"]["id"], message["message_id"])
        self._messages[key] = message
        self._queue_update({"message": message})
        return copy.deepcopy(message)

    def _queue_update(self, payload: JSONDict) -> None:
        update = {"update_id": self._next_update_id, **_jsonable(payload)}
        self._next_update_id += 1
        self._update_total += 1
        self._updates.append(update)
        self._wake_updates()

    def _wake_updates(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def _new_file(self, kind: str, size: int, content: bytes | None = None) -> JSONDict:
        self._file_counter += 1
        n = self._file_counter
        file_id = f"AgAC{kind[:3]}{self.bot_id}x{n:06d}"
        info = {
            "file_id": file_id,
            "file_unique_id": f"AQAD{n:06d}",
            "file_size": size,
        }
        self._files[file_id] = {
            **info,
            "kind": kind,
            "content": content if content is not None else self._fake_bytes(kind, n, size),
        }
        return info

    @staticmethod
    def _fake_bytes(kind: str, n: int, size: int) -> bytes:
        header = f"fake {kind} #{n}\n".encode()
        return (header * (size // len(header) + 1))[:size]

    def _photo_sizes(self, size: int, content: bytes | None = None) -> list[JSONDict]:
        sizes = []
        for width, height, share in ((90, 67, 20), (320, 240, 5), (1280, 960, 1)):
            info = self._new_file("photo", max(size // share, 1), content)
            sizes.append({**info, "width": width, "height": height})
        return sizes

    def _fabricate_media(self, kind: str, caption: str | None) -> JSONDict:
        if kind not in MEDIA_KINDS:
            raise ValueError(f"kind must be one of {MEDIA_KINDS}, not {kind!r}")
        fields: JSONDict
        if kind == "photo":
            fields = {"photo": self._photo_sizes(48_213)}
        elif kind == "document":
            fields = {
                "document": {
                    **self._new_file("document", 81_920),
                    "file_name": "attest.pdf",
                    "mime_type": "application/pdf",
                }
            }
        elif kind == "voice":
            fields = {
                "voice": {**self._new_file("voice", 9_876), "duration": 4, "mime_type": "audio/ogg"}
            }
        elif kind == "audio":
            fields = {
                "audio": {
                    **self._new_file("audio", 512_000),
                    "duration": 62,
                    "mime_type": "audio/mpeg",
                    "file_name": "bericht.mp3",
                }
            }
        else:
            return {"location": {"latitude": 50.8798, "longitude": 4.7005}}
        if caption is not None:
            fields["caption"] = caption
        return fields

    def _chat(self, chat_id: Any) -> JSONDict:
        """The chat a bot call addresses, or Telegram's error for it."""
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if not isinstance(chat_id, int):
            raise _bad("chat not found")
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if str(chat_id).startswith("-100"):
            self.add_group(chat_id)
        else:
            self._chats[chat_id] = {"id": chat_id, "type": "group", "title": "Wegwijs group"}
        return self._chats[chat_id]

    def _check_thread(self, chat: JSONDict, thread_id: Any) -> None:
        if thread_id is None:
            return
        if chat["type"] == "private" or not chat.get("is_forum"):
            raise _bad("message thread not found")
        topic = self.topics.get(thread_id)
        if topic is not None and topic["chat_id"] == chat["id"]:
            if topic["closed"]:
                raise _bad("TOPIC_CLOSED")
            return
        if (chat["id"], thread_id) not in self._known_threads and thread_id != 1:
            raise _bad("message thread not found")

    def _inline_markup(self, markup: Any) -> JSONDict | None:
        """The reply_markup Telegram echoes in the Message (inline keyboards only)."""
        if not markup:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None  # reply keyboards / ForceReply / remove are not echoed
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        for row in rows:
            for button in row:
                if not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text must be non-empty")
                actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
                if not actions:
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _outgoing(self, params: JSONDict) -> tuple[JSONDict, JSONDict]:
        """Validate chat/thread/markup of a send* call; the chat and the new Message skeleton."""
        chat = self._chat(params.get("chat_id"))
        thread_id = params.get("message_thread_id")
        self._check_thread(chat, thread_id)
        markup = self._inline_markup(params.get("reply_markup"))
        message: JSONDict = {
            "message_id": 0,  # assigned in _store_sent once everything validated
            "from": self._bot_user(),
            "chat": dict(chat),
            "date": self._now(),
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        reply_to = params.get("reply_to_message_id")
        if reply_to is None and isinstance(params.get("reply_parameters"), dict):
            reply_to = params["reply_parameters"].get("message_id")
        if reply_to is not None:
            replied = self._messages.get((chat["id"], reply_to))
            if replied is None:
                raise _bad("message to be replied not found")
            message["reply_to_message"] = {
                k: v for k, v in replied.items() if k != "reply_to_message"
            }
        if markup is not None:
            message["reply_markup"] = markup
        return chat, message

    def _store_sent(self, message: JSONDict) -> JSONDict:
        chat_id = message["chat"]["id"]
        message["message_id"] = self._new_message_id(chat_id)
        key = (chat_id, message["message_id"])
        self._messages[key] = message
        self._sent_keys.append(key)
        return copy.deepcopy(message)

    def _caption(self, params: JSONDict) -> JSONDict:
        caption = params.get("caption")
        if caption is None:
            return {}
        text, entities = _formatted(
            caption, params.get("parse_mode"), params.get("caption_entities")
        )
        if len(text) > MAX_CAPTION:
            raise _bad("message caption is too long")
        fields: JSONDict = {"caption": text} if text else {}
        if entities and text:
            fields["caption_entities"] = entities
        return fields

    def _bot_message(self, chat_id: Any, message_id: Any, action: str) -> JSONDict:
        if message_id is None:
            raise _bad("message identifier is not specified")
        chat = self._chat(chat_id)
        stored = self._messages.get((chat["id"], message_id))
        if stored is None or (chat["id"], message_id) in self.deleted:
            raise _bad(f"message to {action} not found")
        return stored

    def _topic(self, params: JSONDict) -> JSONDict:
        chat = self._chat(params.get("chat_id"))
        thread_id = params.get("message_thread_id")
        topic = self.topics.get(thread_id) if thread_id is not None else None
        if topic is None or topic["chat_id"] != chat["id"]:
            raise _bad("TOPIC_ID_INVALID")
        return topic

    # ------------------------------------------------------------------ HTTP

    async def _not_found(self, request: Request) -> Response:
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _read_params(self, request: Request) -> JSONDict:
        raw: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        if body:
            if content_type.startswith("application/json"):
                try:
                    loaded = json.loads(body)
                except ValueError as exc:
                    raise _bad("can't parse JSON object") from exc
                if not isinstance(loaded, dict):
                    raise _bad("can't parse JSON object")
                raw.update(loaded)
            elif content_type.startswith("multipart/form-data"):
                raw.update(_parse_multipart(body, content_type))
            else:
                raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return _decode_params(raw)

    async def _api_endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        params: JSONDict = {}
        try:
            params = await self._read_params(request)
            if request.path_params["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._handlers.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            faults = self._faults.get(method.lower())
            if faults:
                status, retry_after = faults.pop(0)
                raise ApiError(status, self._fault_description(status, retry_after), retry_after)
            if outage := self._outage(method, params):
                raise outage
            if method.lower() == "getupdates":
                result = await self._get_updates(params, request)
                if result is None:  # the client gave up waiting: nobody reads this answer
                    return Response(status_code=499)
                if result and self._hold_confirmations:
                    self._hold_confirmations = False
                    self.fail_while("getUpdates", 502)
            else:
                result = await handler(params)
        except ApiError as error:
            self.failed_calls.append((method, params))
            self.errors.append((method, error.status, error.description))
            self._notify()
            return JSONResponse(error.body(), status_code=error.status)
        except Exception as exc:  # a bug in the fake: make it loud in the test output
            log.exception("FakeTelegram failed on %s %r", method, params)
            self.server_errors.append(exc)
            self.failed_calls.append((method, params))
            self._notify()
            body = {"ok": False, "error_code": 500, "description": f"Fake bug: {exc!r}"}
            return JSONResponse(body, status_code=500)
        self.calls.append((method, params))
        self._notify()
        return JSONResponse({"ok": True, "result": result})

    @staticmethod
    def _fault_description(status: int, retry_after: int | None) -> str:
        if status == 429:
            return f"Too Many Requests: retry after {retry_after}"
        return {
            400: "Bad Request: injected failure",
            401: "Unauthorized",
            403: "Forbidden: bot was blocked by the user",
            404: "Not Found",
            409: "Conflict: terminated by other getUpdates request",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(status, f"Error {status}")

    async def _file_endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        path = request.path_params["file_path"]
        file_id = path.removeprefix("files/")
        info = self._files.get(file_id)
        if not path.startswith("files/") or info is None:
            return await self._not_found(request)
        return Response(info["content"], media_type="application/octet-stream")

    # ------------------------------------------------------------------ API methods

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(
        self, params: JSONDict, request: Request | None = None
    ) -> list[JSONDict] | None:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(int(params.get("timeout") or 0), 0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._updates_changed
            pending = self._updates
            if isinstance(offset, int) and offset > 0:
                pending = [u for u in pending if u["update_id"] >= offset]
            remaining = deadline - loop.time()
            if pending or remaining <= 0 or self._stopping:
                return pending[:limit]
            if request is not None and await request.is_disconnected():
                return None
            # wake up now and then to notice a client that gave up (PTB cancels on stop)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.2))

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _set_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = params.get("url") or ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._wake_updates()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: JSONDict) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("commands is empty")
        for command in commands:
            name = command.get("command", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _get_my_commands(self, params: JSONDict) -> list:
        return self.commands.get(self._commands_key(params), [])

    async def _send_message(self, params: JSONDict) -> JSONDict:
        _, message = self._outgoing(params)
        raw = params.get("text")
        if raw is None or raw == "":
            raise _bad("message text is empty")
        text, entities = _formatted(raw, params.get("parse_mode"), params.get("entities"))
        if not text.strip():
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT:
            raise _bad("message is too long")
        message["text"] = text
        if entities:
            message["entities"] = entities
        if "link_preview_options" in params:
            message["link_preview_options"] = params["link_preview_options"]
        return self._store_sent(message)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        stored = self._bot_message(params.get("chat_id"), params.get("message_id"), "edit")
        if stored["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        raw = params.get("text")
        if raw is None or raw == "":
            raise _bad("text must be non-empty")
        if "text" not in stored:
            raise _bad("there is no text in the message to edit")
        text, entities = _formatted(raw, params.get("parse_mode"), params.get("entities"))
        if len(text) > MAX_TEXT:
            raise _bad("MESSAGE_TOO_LONG")
        markup = self._inline_markup(params.get("reply_markup"))
        if (
            text == stored.get("text")
            and entities == stored.get("entities", [])
            and markup == stored.get("reply_markup")
        ):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        stored["text"] = text
        stored.pop("entities", None)
        if entities:
            stored["entities"] = entities
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        stored.pop("reply_markup", None)
        if markup is not None:
            stored["reply_markup"] = markup
        stored["edit_date"] = self._now()
        return copy.deepcopy(stored)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        stored = self._bot_message(params.get("chat_id"), params.get("message_id"), "edit")
        if stored["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        markup = self._inline_markup(params.get("reply_markup"))
        if markup == stored.get("reply_markup"):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        stored.pop("reply_markup", None)
        if markup is not None:
            stored["reply_markup"] = markup
        stored["edit_date"] = self._now()
        return copy.deepcopy(stored)

    async def _delete_message(self, params: JSONDict) -> bool:
        stored = self._bot_message(params.get("chat_id"), params.get("message_id"), "delete")
        key = (stored["chat"]["id"], stored["message_id"])
        self.deleted.append(key)
        if key not in self._sent_keys:
            del self._messages[key]
        return True

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._callback_queries or query_id in self.answered_callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(params.get("text") or "") > MAX_CALLBACK_ANSWER:
            raise _bad("MESSAGE_TOO_LONG")
        self.answered_callbacks[query_id] = params
        return True

    async def _send_chat_action(self, params: JSONDict) -> bool:
        chat = self._chat(params.get("chat_id"))
        self._check_thread(chat, params.get("message_thread_id"))
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def _create_forum_topic(self, params: JSONDict) -> JSONDict:
        chat = self._chat(params.get("chat_id"))
        if not chat.get("is_forum"):
            raise _bad("the chat is not a forum")
        name = params.get("name") or ""
        if not name:
            raise _bad("TOPIC_TITLE_EMPTY")
        if len(name) > 128:
            raise _bad("TOPIC_TITLE_TOO_LONG")  # unverified wording
        thread_id = self._next_thread_id
        self._next_thread_id += 1
        icon_color = params.get("icon_color") or DEFAULT_ICON_COLOR
        self.topics[thread_id] = {
            "chat_id": chat["id"],
            "name": name,
            "closed": False,
            "icon_color": icon_color,
        }
        topic: JSONDict = {"message_thread_id": thread_id, "name": name, "icon_color": icon_color}
        if params.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = params["icon_custom_emoji_id"]
        return topic

    async def _close_forum_topic(self, params: JSONDict) -> bool:
        topic = self._topic(params)
        if topic["closed"]:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic["closed"] = True
        return True

    async def _delete_forum_topic(self, params: JSONDict) -> bool:
        """The topic and its messages are gone for everyone (kept in ``deleted_topics``)."""
        self._topic(params)
        thread_id = int(params["message_thread_id"])
        self.deleted_topics[thread_id] = self.topics.pop(thread_id)
        return True

    async def _reopen_forum_topic(self, params: JSONDict) -> bool:
        topic = self._topic(params)
        if not topic["closed"]:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic["closed"] = False
        return True

    async def _edit_forum_topic(self, params: JSONDict) -> bool:
        topic = self._topic(params)
        name = params.get("name")
        if name is not None and not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY")
        if (name is None or name == topic["name"]) and "icon_custom_emoji_id" not in params:
            raise _bad("TOPIC_NOT_MODIFIED")
        if name is not None:
            topic["name"] = name
        if "icon_custom_emoji_id" in params:
            topic["icon_custom_emoji_id"] = params["icon_custom_emoji_id"]
        return True

    async def _copy_message(self, params: JSONDict) -> JSONDict:
        for required in ("chat_id", "from_chat_id", "message_id"):
            if params.get(required) in (None, ""):
                raise _bad(
                    f"{required} is empty"
                    if required != "message_id"
                    else "message identifier is not specified"
                )
        from_chat = params["from_chat_id"]
        source = self._messages.get((from_chat, params["message_id"]))
        if source is None or (from_chat, params["message_id"]) in self.deleted:
            raise _bad("message to copy not found")
        _, message = self._outgoing(params)
        content_keys = ("text", "entities", *MEDIA_KINDS, "caption", "caption_entities")
        for key in content_keys:
            if key in source:
                message[key] = copy.deepcopy(source[key])
        has_caption = any(kind in source for kind in SENDABLE_MEDIA)
        if "caption" in params and has_caption:
            message.pop("caption", None)
            message.pop("caption_entities", None)
            message.update(self._caption(params))
        stored = self._store_sent(message)
        return {"message_id": stored["message_id"]}

    async def _send_media(self, kind: str, params: JSONDict) -> JSONDict:
        _, message = self._outgoing(params)
        value = params.get(kind)
        if value is None or value == "":
            raise _bad(f"there is no {kind} in the request")
        if isinstance(value, Upload):
            media = self._media_from_upload(kind, value, params)
        elif value.startswith(("http://", "https://")):
            media = self._media_from_upload(
                kind,
                Upload(value.rsplit("/", 1)[-1] or kind, "application/octet-stream", b""),
                params,
            )
        else:
            info = self._files.get(value)
            if info is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            if info["kind"] != kind:
                raise _bad("type of file mismatch")
            media = self._media_from_file_id(kind, info, params)
        message[kind] = media
        message.update(self._caption(params))
        return self._store_sent(message)

    def _media_from_file_id(self, kind: str, info: JSONDict, params: JSONDict) -> Any:
        # Re-use the stored object for this file id (a known message shows it), else rebuild.
        for stored in self._messages.values():
            media = stored.get(kind)
            if kind == "photo" and media and any(p["file_id"] == info["file_id"] for p in media):
                return copy.deepcopy(media)
            if kind != "photo" and media and media.get("file_id") == info["file_id"]:
                return copy.deepcopy(media)
        base = {k: info[k] for k in ("file_id", "file_unique_id", "file_size")}
        if kind == "photo":
            return [{**base, "width": 1280, "height": 960}]
        return {**base, **self._media_extras(kind, "file", params)}

    def _media_from_upload(self, kind: str, upload: Upload, params: JSONDict) -> Any:
        if kind == "photo":
            return self._photo_sizes(max(upload.size, 1), upload.content)
        info = self._new_file(kind, upload.size, upload.content)
        extras = self._media_extras(kind, upload.filename, params)
        if upload.mime_type != "application/octet-stream" or kind == "document":
            extras["mime_type"] = upload.mime_type
        return {**info, **extras}

    @staticmethod
    def _media_extras(kind: str, filename: str, params: JSONDict) -> JSONDict:
        if kind == "document":
            return {"file_name": filename, "mime_type": "application/octet-stream"}
        if kind == "voice":
            return {"duration": params.get("duration") or 1, "mime_type": "audio/ogg"}
        extras: JSONDict = {"duration": params.get("duration") or 1, "file_name": filename}
        extras["mime_type"] = "audio/mpeg"
        for key in ("title", "performer"):
            if params.get(key):
                extras[key] = params[key]
        return extras

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        return await self._send_media("photo", params)

    async def _send_document(self, params: JSONDict) -> JSONDict:
        return await self._send_media("document", params)

    async def _send_voice(self, params: JSONDict) -> JSONDict:
        return await self._send_media("voice", params)

    async def _send_audio(self, params: JSONDict) -> JSONDict:
        return await self._send_media("audio", params)

    async def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = params.get("file_id")
        info = self._files.get(file_id) if isinstance(file_id, str) else None
        if info is None:
            raise _bad("invalid file_id")
        return {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "file_size": info["file_size"],
            "file_path": f"files/{info['file_id']}",
        }
