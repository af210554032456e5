"""A fake WhatsApp Cloud API (Meta Graph API) for end-to-end tests.

The bot's WhatsApp channel talks to it over real HTTP, with ``WHATSAPP_API_BASE_URL`` set to
``fake.api_base_url``; the fake plays the WhatsApp users by POSTing signed webhooks to
``fake.webhook_url``::

    async with FakeGraph() as fake:
        fake.webhook_url = "http://127.0.0.1:8123/whatsapp/webhook"
        await fake.parent_text("32470123456", "Hallo")
        [answer] = await fake.wait_for_messages("32470123456", 1)

Like ``fakes.telegram_api`` it runs uvicorn as a task in the current event loop and keeps
everything in memory. It answers with Meta's JSON shapes and error codes, enforces the limits
that make Meta reject a message (so a bot that builds a 21-character button title fails here,
not in production), and applies the 24-hour customer-service window the way Meta does: the
send is accepted, and a ``failed`` status webhook (131047) arrives later.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes.serving import LocalServer
from fakes.telegram_api import Upload, _parse_multipart

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Endpoint = Literal["messages", "media", "media_info", "download"]
Handler = Callable[[Request], Awaitable[JSONDict | Response]]

MESSAGE_TYPES = (
    *("text", "interactive", "template", "location"),
    *("image", "document", "audio", "video", "sticker"),
)
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
WINDOW_SECONDS = 24 * 3600
RECENT_INTERACTIVE = 5  # how far back parent_choose() looks
# Meta's supported upload types: mime type -> max size in bytes.
MB = 1024 * 1024
OOXML = "application/vnd.openxmlformats-officedocument"
DOCUMENT_TYPES = (
    *("text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel"),
    *("application/vnd.ms-powerpoint", f"{OOXML}.wordprocessingml.document"),
    *(f"{OOXML}.spreadsheetml.sheet", f"{OOXML}.presentationml.presentation"),
)
SUPPORTED_MEDIA = {
    **dict.fromkeys(("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"), 16 * MB),
    **dict.fromkeys(("video/mp4", "video/3gpp"), 16 * MB),
    **dict.fromkeys(("image/jpeg", "image/png"), 5 * MB),
    "image/webp": 500 * 1024,  # stickers
    **dict.fromkeys(DOCUMENT_TYPES, 100 * MB),
}
# status -> (code, message) of an injected failure, unless fail_next() names a code.
FAULTS = {
    400: (100, "(#100) Invalid parameter"),
    429: (130429, "(#130429) Rate limit hit"),
    500: (131000, "(#131000) Something went wrong"),
    502: (2, "Service temporarily unavailable"),
    503: (131016, "(#131016) Service unavailable"),
}
RE_ENGAGEMENT = {
    "code": 131047,
    "title": "Re-engagement message",
    "message": "Re-engagement message",
    "error_data": {
        "details": "Message failed to send because more than 24 hours have passed since the "
        "customer last replied to this number."
    },
    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
}


class GraphError(Exception):
    """An error answer of the Graph API: HTTP status + Meta's ``{"error": {...}}`` body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        details: str | None = None,
        *,
        kind: str = "OAuthException",
        subcode: int | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}: {details}")
        self.status, self.code, self.message, self.details = status, code, message, details
        self.kind, self.subcode = kind, subcode

    def body(self) -> JSONDict:
        error: JSONDict = {"message": self.message, "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(15)
        return {"error": error}


def _invalid(details: str) -> GraphError:
    return GraphError(400, 100, "(#100) Invalid parameter", details)


def _no_object(object_id: str, method: str) -> GraphError:
    """What Graph answers for an id that does not exist (or that this token cannot see)."""
    return GraphError(
        400,
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read the "
        "Graph API documentation at https://developers.facebook.com/docs/graph-api",
        kind="GraphMethodException",
        subcode=33,
    )


def _text(value: Any, what: str, low: int, high: int) -> str:
    """``value`` must be a string of low..high characters (Meta counts characters)."""
    if not isinstance(value, str) or not low <= len(value) <= high:
        got = f"{len(value)} characters" if isinstance(value, str) else repr(value)
        raise _invalid(f"{what} must be {low}..{high} characters, got {got}")
    return value


def _dict(value: Any, what: str) -> JSONDict:
    if not isinstance(value, dict):
        raise _invalid(f"{what} must be an object, got {value!r}")
    return value


def _list(value: Any, what: str, low: int, high: int) -> list[Any]:
    if not isinstance(value, list) or not low <= len(value) <= high:
        got = f"{len(value)} items" if isinstance(value, list) else repr(value)
        raise _invalid(f"{what} must have {low}..{high} items, got {got}")
    return value


def _unique(values: list[str], what: str) -> None:
    if len(set(values)) != len(values):
        raise _invalid(f"{what} must be unique, got {values}")


@dataclass
class Media:
    """A media object: uploaded by the bot, or sent by a (fake) WhatsApp user."""

    content: bytes = field(repr=False)
    mime_type: str
    filename: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class Delivery:
    """One webhook POST to the bot and the bot's answer (Meta retries answers other than 200)."""

    message_id: str | None
    body: bytes
    status_code: int
    response_text: str

    @property
    def payload(self) -> JSONDict:
        return json.loads(self.body)


class FakeGraph:
    """An in-memory WhatsApp Cloud API served over real HTTP (see the module docstring)."""

    def __init__(
        self,
        *,
        app_secret: str = "test-app-secret",
        token: str = "TEST-WA-TOKEN",
        phone_number_id: str = "1000001",
        display_phone_number: str = "32470000000",
        version: str = "v23.0",
        templates: dict[str, set[str]] | None = None,
        now: Callable[[], float] = time.time,
        verify_token: str = "test-verify-token",
        waba_id: str = "2000001",
    ) -> None:
        self.app_secret, self.token, self.version = app_secret, token, version
        self.phone_number_id, self.display_phone_number = phone_number_id, display_phone_number
        self.templates = (
            templates
            if templates is not None
            else {
                "wegwijs_answer_waiting": {"nl", "fr", "ar", "en"},
                "wegwijs_checkback": {"nl", "fr", "ar", "en"},
            }
        )
        self.now, self.verify_token, self.waba_id = now, verify_token, waba_id
        self.url = ""
        self.webhook_url: str | None = None

        # What the bot did.
        self.calls: list[tuple[str, str, int]] = []  # (method, path, status)
        self.failed_calls: list[tuple[str, int]] = []  # (endpoint, status): every non-2xx
        self.errors: list[tuple[str, int, int, str]] = []  # (endpoint, status, code, details)
        self.uploads: dict[str, tuple[bytes, str, str | None]] = {}
        self.window_violations: list[JSONDict] = []
        self.read_receipts: list[JSONDict] = []  # {"status": "read", ...} requests
        self.server_errors: list[BaseException] = []  # bugs in the fake itself

        # What the fake users did.
        self.deliveries: list[Delivery] = []
        self.webhook_errors: list[BaseException] = []  # background webhooks that failed

        self._delivered: list[tuple[str, JSONDict]] = []  # (wa_id, request JSON + "id")
        self._media: dict[str, Media] = {}
        self._last_inbound: dict[str, float] = {}
        self._cursors: dict[str, int] = {}
        self._faults: dict[str, list[tuple[int, int | None]]] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._background: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._http: LocalServer | None = None

    @property
    def api_base_url(self) -> str:
        return f"{self.url}/{self.version}"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1:<free port> as a task of the running loop; return when ready."""
        if self._http is not None:
            raise RuntimeError("FakeGraph already started")
        v = self.version
        app = Starlette(
            routes=[
                Route(
                    f"/{v}/{{pid}}/messages", self._wrap("messages", self._send), methods=["POST"]
                ),
                Route(f"/{v}/{{pid}}/media", self._wrap("media", self._upload), methods=["POST"]),
                Route(f"/{v}/{{media_id}}", self._wrap("media_info", self._info), methods=["GET"]),
                Route("/media-download/{media_id}", self._wrap("download", self._download)),
                Route("/{rest:path}", self._unknown_path, methods=["GET", "POST", "DELETE"]),
            ]
        )
        self._http = LocalServer(app, "FakeGraph")
        self.url = await self._http.start()
        self._client = httpx.AsyncClient(timeout=30.0)

    async def stop(self) -> None:
        """Let pending status webhooks finish (briefly), then stop the client and the server."""
        await self.drain(timeout=5.0, cancel=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._http is not None:
            await self._http.stop()
            self._http = None

    async def __aenter__(self) -> FakeGraph:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def drain(self, timeout: float = 10.0, *, cancel: bool = False) -> None:
        """Wait for the background webhooks (failed statuses) the fake has started."""
        if not self._background:
            return
        _, pending = await asyncio.wait(set(self._background), timeout=timeout)
        if pending and not cancel:
            raise AssertionError(f"{len(pending)} background webhook(s) still running")
        for task in pending:
            task.cancel()

    # ------------------------------------------------------------------ HTTP plumbing

    def _wrap(self, endpoint: Endpoint, handler: Handler) -> Handler:
        """Auth, injected faults, Meta-shaped errors and the call log, around one endpoint."""

        async def serve(request: Request) -> Response:
            try:
                if request.headers.get("authorization") != f"Bearer {self.token}":
                    raise GraphError(401, 190, "Invalid OAuth access token.")
                if faults := self._faults.get(endpoint):
                    status, code = faults.pop(0)
                    default_code, message = FAULTS.get(status, (1, "An unknown error occurred"))
                    raise GraphError(status, code or default_code, message, "injected failure")
                result = await handler(request)
                response = result if isinstance(result, Response) else JSONResponse(result)
            except GraphError as error:
                self.errors.append((endpoint, error.status, error.code, str(error.details)))
                response = JSONResponse(error.body(), status_code=error.status)
            except Exception as exc:  # a bug in the fake: make it loud in the test output
                log.exception("FakeGraph failed on %s %s", request.method, request.url.path)
                self.server_errors.append(exc)
                body = GraphError(500, 1, f"Fake bug: {exc!r}").body()
                response = JSONResponse(body, status_code=500)
            if response.status_code >= 300:
                self.failed_calls.append((endpoint, response.status_code))
            self.calls.append((request.method, request.url.path, response.status_code))
            return response

        return serve

    async def _unknown_path(self, request: Request) -> Response:
        self.calls.append((request.method, request.url.path, 400))
        error = GraphError(400, 2500, f"Unknown path components: {request.url.path}")
        return JSONResponse(error.body(), status_code=400)

    def _check_phone_number(self, request: Request, method: str) -> None:
        if request.path_params["pid"] != self.phone_number_id:
            raise _no_object(request.path_params["pid"], method)

    # ------------------------------------------------------------------ Graph endpoints

    async def _send(self, request: Request) -> JSONDict:
        self._check_phone_number(request, "post")
        try:
            payload = _dict(json.loads(await request.body()), "the request body")
        except ValueError:
            raise _invalid("the request body is not JSON") from None
        if payload.get("messaging_product") != "whatsapp":
            raise _invalid("messaging_product is required and must be 'whatsapp'")
        if payload.get("status") == "read":  # mark as read (+ typing indicator)
            _text(payload.get("message_id"), "message_id", 1, 512)
            self.read_receipts.append(copy.deepcopy(payload))
            return {"success": True}
        to = payload.get("to")
        wa_id = re.sub(r"\D", "", to) if isinstance(to, str) else ""
        if not wa_id:
            raise _invalid("to is required (the recipient's phone number or wa_id)")
        kind = payload.get("type", "text")  # Meta's default type
        if kind not in MESSAGE_TYPES:
            raise _invalid(f"type must be one of {', '.join(MESSAGE_TYPES)}, got {kind!r}")
        content = _dict(payload.get(kind), kind)
        if kind == "text":
            _text(content.get("body"), "text.body", 1, 4096)
        elif kind == "interactive":
            self._check_interactive(content)
        elif kind == "template":
            self._check_template(content)
        elif kind == "location":
            for key in ("latitude", "longitude"):
                value = content.get(key)
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise _invalid(f"location.{key} must be a number, got {value!r}")
        else:
            self._check_media(kind, content)

        message_id = self._wamid("OUT", wa_id)
        record = {**copy.deepcopy(payload), "id": message_id}
        if kind != "template" and not self.window_open(wa_id):
            # Meta accepts the send and reports the failure later, in a status webhook.
            self.window_violations.append(record)
            failed = self._status_value(wa_id, message_id, "failed", errors=[RE_ENGAGEMENT])
            task = asyncio.create_task(self._background_webhook(failed, message_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        else:
            self._delivered.append((wa_id, record))
        async with self._changed:
            self._changed.notify_all()
        answer: JSONDict = {"id": message_id}
        if kind == "template":
            answer["message_status"] = "accepted"
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [answer],
        }

    def _check_interactive(self, interactive: JSONDict) -> None:
        kind = interactive.get("type")
        body = _dict(interactive.get("body"), "interactive.body")
        action = _dict(interactive.get("action"), "interactive.action")
        if "footer" in interactive:
            footer = _dict(interactive["footer"], "interactive.footer")
            _text(footer.get("text"), "interactive.footer.text", 1, 60)
        header = interactive.get("header")
        if header is not None:
            header = _dict(header, "interactive.header")
            if header.get("type") == "text":
                _text(header.get("text"), "interactive.header.text", 1, 60)
            elif kind != "button" or header.get("type") not in ("image", "video", "document"):
                raise _invalid(f"interactive.header.type {header.get('type')!r} is not allowed")
        if kind == "button":
            _text(body.get("text"), "interactive.body.text", 1, 1024)
            buttons = _list(action.get("buttons"), "interactive.action.buttons", 1, 3)
            ids, titles = [], []
            for button in buttons:
                if _dict(button, "button").get("type") != "reply":
                    raise _invalid(f"button type must be 'reply', got {button.get('type')!r}")
                reply = _dict(button.get("reply"), "button.reply")
                ids.append(_text(reply.get("id"), "button.reply.id", 1, 256))
                titles.append(_text(reply.get("title"), "button.reply.title", 1, 20))
            _unique(ids, "button ids")
            _unique(titles, "button titles")
        elif kind == "list":
            _text(body.get("text"), "interactive.body.text", 1, 4096)
            _text(action.get("button"), "interactive.action.button", 1, 20)
            sections = _list(action.get("sections"), "interactive.action.sections", 1, 10)
            row_ids: list[str] = []
            for section in sections:
                section = _dict(section, "section")
                if "title" in section or len(sections) > 1:
                    _text(section.get("title"), "section.title", 1, 24)
                for row in _list(section.get("rows"), "section.rows", 1, 10):
                    row = _dict(row, "row")
                    row_ids.append(_text(row.get("id"), "row.id", 1, 200))
                    _text(row.get("title"), "row.title", 1, 24)
                    if "description" in row:
                        _text(row["description"], "row.description", 0, 72)
            if len(row_ids) > 10:
                raise _invalid(f"a list may have 10 rows in all sections, got {len(row_ids)}")
            _unique(row_ids, "row ids")
        elif kind == "cta_url":
            _text(body.get("text"), "interactive.body.text", 1, 1024)
            parameters = _dict(action.get("parameters"), "interactive.action.parameters")
            _text(parameters.get("display_text"), "cta_url display_text", 1, 20)
            _text(parameters.get("url"), "cta_url url", 1, 2000)
        else:
            raise _invalid(f"interactive.type {kind!r} is not supported by the fake")

    def _check_template(self, template: JSONDict) -> None:
        name = _text(template.get("name"), "template.name", 1, 512)
        code = _dict(template.get("language"), "template.language").get("code")
        if code not in self.templates.get(name, set()):
            raise GraphError(
                400,
                132001,
                "(#132001) Template name does not exist in the translation",
                f"template name ({name}) does not exist in {code}",
            )
        for component in template.get("components") or []:
            if _dict(component, "template.components[]").get("type") != "button":
                continue
            if (
                component.get("sub_type") != "quick_reply"
                or not str(component.get("index", "")).isdigit()
            ):
                raise _invalid("a template button needs sub_type quick_reply and an index")
            (parameter,) = component.get("parameters") or [{}]
            if parameter.get("type") != "payload":
                raise _invalid("a quick-reply button's parameter must be a payload")
            _text(parameter.get("payload"), "button payload", 1, 256)

    def _check_media(self, kind: str, media: JSONDict) -> None:
        if ("id" in media) == ("link" in media):
            raise _invalid(f"{kind} needs exactly one of id or link")
        if "id" in media and media["id"] not in self._media:
            raise _invalid(f"{kind}.id {media['id']!r} is not a known media id")
        if "link" in media:
            _text(media["link"], f"{kind}.link", 1, 2000)
        if "caption" in media:
            if kind in ("audio", "sticker"):
                raise _invalid(f"{kind} messages cannot have a caption")
            _text(media["caption"], f"{kind}.caption", 0, 1024)

    async def _upload(self, request: Request) -> JSONDict:
        self._check_phone_number(request, "post")
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            raise _invalid("media must be uploaded as multipart/form-data")
        try:
            fields = _parse_multipart(await request.body(), content_type)
        except Exception:
            raise _invalid("the multipart body cannot be parsed") from None
        if fields.get("messaging_product") != "whatsapp":
            raise _invalid("messaging_product is required and must be 'whatsapp'")
        upload = fields.get("file")
        if not isinstance(upload, Upload):
            raise _invalid("file is required")
        mime = str(fields.get("type") or upload.mime_type)
        limit = SUPPORTED_MEDIA.get(mime.split(";")[0].strip().lower())
        if limit is None:
            raise _invalid(f"Param file must be a file with a supported type, got {mime!r}")
        if not 0 < upload.size <= limit:
            raise _invalid(f"the file must have 1..{limit} bytes, got {upload.size}")
        media_id = self._store_media(upload.content, mime, upload.filename)
        self.uploads[media_id] = (upload.content, mime, upload.filename)
        return {"id": media_id}

    async def _info(self, request: Request) -> JSONDict:
        media_id = request.path_params["media_id"]
        media = self._media.get(media_id)
        if media is None:
            raise _no_object(media_id, "get")
        return {
            "messaging_product": "whatsapp",
            "url": f"{self.url}/media-download/{media_id}",
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": len(media.content),
            "id": media_id,
        }

    async def _download(self, request: Request) -> Response:
        media = self._media.get(request.path_params["media_id"])
        if media is None:
            raise GraphError(404, 100, "Media not found")
        return Response(media.content, media_type=media.mime_type)

    def _wamid(self, direction: str, wa_id: str) -> str:
        """A unique message id shaped like Meta's ("wamid." + base64)."""
        raw = f"{direction}:{wa_id}:{next(self._ids)}:{uuid.uuid4().hex[:12]}".encode()
        return "wamid." + base64.b64encode(raw).decode("ascii")

    def _store_media(self, content: bytes, mime_type: str, filename: str | None) -> str:
        media_id = str(9_100_000_000_000_000 + next(self._ids))  # Meta's ids are numeric
        self._media[media_id] = Media(content, mime_type, filename)
        return media_id

    # ------------------------------------------------------------------ faults and clock

    def fail_next(
        self, endpoint: Endpoint, status: int = 500, times: int = 1, code: int | None = None
    ) -> None:
        """The next ``times`` calls of ``endpoint`` answer ``status`` with a Meta error body."""
        if endpoint not in ("messages", "media", "media_info", "download"):
            raise ValueError(f"unknown endpoint {endpoint!r}")
        self._faults.setdefault(endpoint, []).extend([(status, code)] * times)

    def window_open(self, wa_id: str) -> bool:
        """Whether the user wrote in the last 24 hours, so non-template messages get through."""
        last = self._last_inbound.get(wa_id)
        return last is not None and self.now() - last < WINDOW_SECONDS

    def open_window(self, wa_id: str, at: float | None = None) -> None:
        """Pretend ``wa_id`` wrote at ``at`` (default now) without sending a webhook."""
        at = self.now() if at is None else at
        self._last_inbound[wa_id] = max(at, self._last_inbound.get(wa_id, at))

    # ------------------------------------------------------------------ webhooks: plumbing

    def sign(self, body: bytes) -> str:
        """The ``X-Hub-Signature-256`` value Meta computes for ``body``."""
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return f"sha256={digest}"

    @staticmethod
    def encode(payload: JSONDict) -> bytes:
        """JSON as Meta sends it: compact, non-ASCII as lowercase \\u escapes, "/" as "\\/".

        Meta signs these escaped bytes, so a bot that checks the signature against a
        re-serialized body (instead of the raw bytes) fails here as it would in production.
        """
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
        return text.replace("/", "\\/").encode("ascii")

    async def post_webhook(
        self, body: bytes | JSONDict, *, signature: str | None = "valid"
    ) -> httpx.Response:
        """POST a webhook: ``"valid"`` signs it, ``None`` sends no signature, else forged."""
        if self.webhook_url is None or self._client is None:
            raise AssertionError("set fake.webhook_url (and start the fake) before webhooks")
        raw = body if isinstance(body, bytes) else self.encode(body)
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = self.sign(raw)
            sha1 = hmac.new(self.app_secret.encode(), raw, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature"] = f"sha1={sha1}"
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return await self._client.post(self.webhook_url, content=raw, headers=headers)

    async def _deliver(self, value: JSONDict, message_id: str | None) -> Delivery:
        body = self.envelope(value)
        response = await self.post_webhook(body)
        delivery = Delivery(message_id, body, response.status_code, response.text)
        self.deliveries.append(delivery)
        return delivery

    async def _background_webhook(self, value: JSONDict, message_id: str) -> None:
        if self.webhook_url is None:
            log.warning("FakeGraph: no webhook_url, status for %s not delivered", message_id)
            return
        try:
            await self._deliver(value, message_id)
        except Exception as exc:  # the bot may be gone already; keep it for the test
            log.warning("FakeGraph: status webhook for %s failed: %r", message_id, exc)
            self.webhook_errors.append(exc)

    def _metadata(self) -> JSONDict:
        return {
            "display_phone_number": self.display_phone_number,
            "phone_number_id": self.phone_number_id,
        }

    def _status_value(self, wa_id: str, message_id: str, status: str, **extra: Any) -> JSONDict:
        entry: JSONDict = {"id": message_id, "status": status, "timestamp": str(int(self.now()))}
        entry.update(recipient_id=wa_id, **extra)
        return {"messaging_product": "whatsapp", "metadata": self._metadata(), "statuses": [entry]}

    async def _inbound(
        self,
        wa_id: str,
        fields: JSONDict,
        *,
        at: float | None = None,
        name: str = "Invented Parent",
    ) -> Delivery:
        """A user message: opens the 24-hour window, then POSTs the webhook."""
        message_id, body = self.message_webhook(wa_id, fields, at=at, name=name)
        response = await self.post_webhook(body)
        delivery = Delivery(message_id, body, response.status_code, response.text)
        self.deliveries.append(delivery)
        return delivery

    def message_webhook(
        self,
        wa_id: str,
        fields: JSONDict,
        *,
        at: float | None = None,
        name: str = "Invented Parent",
    ) -> tuple[str, bytes]:
        """A user message as Meta would POST it, not posted yet: (message id, body). Opens the
        24-hour window. ``fields`` may override ``from`` and ``id`` too. For a test that
        delivers it itself (again and again until the bot answers 200, as Meta does)."""
        at = self.now() if at is None else at
        self.open_window(wa_id, at)
        message = {
            "from": wa_id,
            "id": self._wamid("IN", wa_id),
            "timestamp": str(int(at)),
            **fields,
        }
        value = {
            "messaging_product": "whatsapp",
            "metadata": self._metadata(),
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [message],
        }
        return message["id"], self.envelope(value)

    def envelope(self, value: JSONDict) -> bytes:
        """The body of a ``messages`` webhook around one change ``value``, encoded as Meta does."""
        return self.encode(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": self.waba_id, "changes": [{"value": value, "field": "messages"}]}],
            }
        )

    def _context(self, wa_id: str, message: JSONDict | None = None) -> JSONDict:
        if message is None:
            interactive = [m for m in self.sent(wa_id) if m.get("type") == "interactive"]
            message = interactive[-1] if interactive else None
        if message is None:
            return {}
        return {"context": {"from": self.display_phone_number, "id": message["id"]}}

    # ------------------------------------------------------------------ what users do

    async def parent_text(
        self, wa_id: str, text: str, *, at: float | None = None, name: str = "Invented Parent"
    ) -> Delivery:
        """The user writes ``text``; ``at`` is the message's unix time (default now)."""
        return await self._inbound(
            wa_id, {"type": "text", "text": {"body": text}}, at=at, name=name
        )

    async def parent_button(self, wa_id: str, button_id: str, title: str) -> Delivery:
        """The user taps a reply button (of the last interactive message, as context)."""
        reply = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
        fields = {**self._context(wa_id), "type": "interactive", "interactive": reply}
        return await self._inbound(wa_id, fields)

    async def parent_list(
        self, wa_id: str, row_id: str, title: str, description: str | None = None
    ) -> Delivery:
        """The user picks a list row (of the last interactive message, as context)."""
        row = {"id": row_id, "title": title}
        if description is not None:
            row["description"] = description
        reply = {"type": "list_reply", "list_reply": row}
        fields = {**self._context(wa_id), "type": "interactive", "interactive": reply}
        return await self._inbound(wa_id, fields)

    async def parent_choose(self, wa_id: str, title_or_id: str) -> Delivery:
        """Tap the button / pick the row titled (or with id) ``title_or_id`` of a recent message.

        Looks through the last few interactive messages to the user, newest first, so a test
        reads like what a parent sees; fails listing what was offered.
        """
        interactive = [m for m in self.sent(wa_id) if m.get("type") == "interactive"]
        offered: list[str] = []
        for message in reversed(interactive[-RECENT_INTERACTIVE:]):
            content = message["interactive"]
            if content.get("type") == "button":
                options = [(b["reply"], "button_reply") for b in content["action"]["buttons"]]
            else:
                rows = [r for s in content["action"].get("sections", []) for r in s["rows"]]
                options = [(r, "list_reply") for r in rows]
            for option, reply_type in options:
                offered.append(f"{option['title']!r} (id {option['id']!r})")
                if title_or_id in (option["title"], option["id"]):
                    reply = {"type": reply_type, reply_type: copy.deepcopy(option)}
                    fields = {**self._context(wa_id, message), "type": "interactive"}
                    return await self._inbound(wa_id, {**fields, "interactive": reply})
        raise AssertionError(
            f"parent_choose({wa_id!r}, {title_or_id!r}): not offered; recent choices: {offered}"
        )

    async def parent_template_reply(
        self, wa_id: str, text: str, payload: str | None = None
    ) -> Delivery:
        """The user taps a quick-reply button of a template message."""
        templates = self.templates_sent(wa_id)
        context = self._context(wa_id, templates[-1]) if templates else {}
        button = {"text": text, "payload": payload or text}
        return await self._inbound(wa_id, {**context, "type": "button", "button": button})

    async def parent_template_button(self, wa_id: str, index: int) -> Delivery:
        """The user taps quick-reply button ``index`` of the last template sent to them: the
        webhook carries the payload the business set for that button when it sent it."""
        (template,) = self.templates_sent(wa_id)[-1:]
        buttons = [
            c
            for c in template["template"].get("components") or []
            if c.get("type") == "button" and c.get("index") == str(index)
        ]
        (button,) = buttons
        payload = button["parameters"][0]["payload"]
        return await self.parent_template_reply(wa_id, f"button {index}", payload)

    async def parent_media(
        self,
        wa_id: str,
        kind: Literal["image", "document", "audio", "video", "sticker"],
        content: bytes,
        mime_type: str,
        *,
        caption: str | None = None,
        filename: str | None = None,
        voice: bool = False,
    ) -> Delivery:
        """The user sends media; the bytes are stored so GET media / download work."""
        media_id = self._store_media(content, mime_type, filename)
        # In webhooks Meta gives the sha256 base64-encoded (GET media gives hex).
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode("ascii")
        media: JSONDict = {"mime_type": mime_type, "sha256": digest, "id": media_id}
        if caption is not None:
            media["caption"] = caption
        if filename is not None and kind == "document":
            media["filename"] = filename
        if voice and kind == "audio":
            media["voice"] = True
        return await self._inbound(wa_id, {"type": kind, kind: media})

    async def parent_location(
        self,
        wa_id: str,
        latitude: float,
        longitude: float,
        *,
        name: str | None = None,
        address: str | None = None,
    ) -> Delivery:
        """The user shares a location (a pin, or a named place with ``name``/``address``)."""
        location: JSONDict = {"latitude": latitude, "longitude": longitude}
        location.update({k: v for k, v in (("name", name), ("address", address)) if v})
        return await self._inbound(wa_id, {"type": "location", "location": location})

    async def parent_reaction(self, wa_id: str, message_id: str, emoji: str) -> Delivery:
        """The user reacts to a message with ``emoji`` ("" removes the reaction)."""
        reaction = {"message_id": message_id, "emoji": emoji}
        return await self._inbound(wa_id, {"type": "reaction", "reaction": reaction})

    async def status(self, wa_id: str, message_id: str, status: str = "delivered") -> Delivery:
        """A status webhook (sent, delivered, read, failed) for a message sent to ``wa_id``."""
        return await self._deliver(self._status_value(wa_id, message_id, status), message_id)

    async def redeliver(self, delivery: Delivery) -> Delivery:
        """Meta re-delivers a webhook (same bytes, same ids) when it got no timely 200."""
        response = await self.post_webhook(delivery.body)
        again = Delivery(delivery.message_id, delivery.body, response.status_code, response.text)
        self.deliveries.append(again)
        return again

    async def verify(
        self, mode: str = "subscribe", token: str | None = None, challenge: str = "1158201444"
    ) -> httpx.Response:
        """Meta's subscription check: GET with hub.mode/hub.verify_token/hub.challenge."""
        if self.webhook_url is None or self._client is None:
            raise AssertionError("set fake.webhook_url (and start the fake) before verify()")
        params = {
            "hub.mode": mode,
            "hub.verify_token": self.verify_token if token is None else token,
            "hub.challenge": challenge,
        }
        return await self._client.get(self.webhook_url, params=params)

    # ------------------------------------------------------------------ what the bot did

    def sent(self, wa_id: str) -> list[JSONDict]:
        """Messages accepted and delivered to ``wa_id``, in order (request JSON + "id")."""
        return [copy.deepcopy(m) for who, m in self._delivered if who == wa_id]

    def templates_sent(self, wa_id: str) -> list[JSONDict]:
        return [m for m in self.sent(wa_id) if m.get("type") == "template"]

    async def wait_for_messages(
        self, wa_id: str, count: int = 1, timeout: float = 10.0
    ) -> list[JSONDict]:
        """Exactly the next ``count`` messages to ``wa_id`` that no earlier wait returned."""
        start = self._cursors.get(wa_id, 0)

        def enough() -> bool:
            return sum(who == wa_id for who, _ in self._delivered) - start >= count

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(enough)
        except TimeoutError:
            got = [self.text_of(m) for m in self.sent(wa_id)[start:]]
            raise AssertionError(
                f"Timed out after {timeout} s waiting for {count} message(s) to {wa_id}; "
                f"got {got}.\n{self.dump()}"
            ) from None
        self._cursors[wa_id] = start + count
        return self.sent(wa_id)[start : start + count]

    def dump(self, last: int = 20) -> str:
        """Recent calls, errors and window violations, for assertion messages."""
        lines = [f"Last calls: {self.calls[-last:]}", f"Errors: {self.errors[-last:]}"]
        if self.window_violations:
            lines.append(f"Outside the 24 h window: {self.window_violations[-last:]}")
        if self.server_errors or self.webhook_errors:
            lines.append(f"Fake/webhook errors: {self.server_errors} {self.webhook_errors}")
        return "\n".join(lines)

    @staticmethod
    def text_of(message: JSONDict) -> str:
        """The visible text of a sent message (templates: ``template:<name>:<lang>``)."""
        kind = message.get("type", "text")
        content = message.get(kind) or {}
        if kind == "text":
            return content.get("body", "")
        if kind == "interactive":
            return (content.get("body") or {}).get("text", "")
        if kind == "template":
            return f"template:{content.get('name')}:{(content.get('language') or {}).get('code')}"
        if kind == "location":
            return content.get("name") or f"{content.get('latitude')},{content.get('longitude')}"
        return content.get("caption", "")

    @staticmethod
    def choices_of(message: JSONDict) -> list[str]:
        """Titles of the reply buttons or list rows of a sent message (else [])."""
        interactive = message.get("interactive") or {}
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            return [b["reply"]["title"] for b in action.get("buttons", [])]
        if interactive.get("type") == "list":
            return [r["title"] for s in action.get("sections", []) for r in s.get("rows", [])]
        return []
