"""The fake WhatsApp Cloud API itself: plain httpx on the Graph side, a tiny signed-webhook
receiver on the other, so the bot's WhatsApp tests can trust what the fake says."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fakes.graph_api import FakeGraph
from fakes.serving import serving

PARENT = "32470123456"
SECRET = "test-app-secret"


class Receiver:
    """The bot's side of the webhook, reduced to checking signatures and keeping bodies."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.rejected = 0

    async def webhook(self, request: Request) -> Response:
        if request.method == "GET":
            ok = request.query_params.get("hub.verify_token") == "test-verify-token"
            return PlainTextResponse(
                request.query_params["hub.challenge"] if ok else "", 200 if ok else 403
            )
        raw = await request.body()
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-hub-signature-256", ""), expected):
            self.rejected += 1
            return PlainTextResponse("bad signature", 401)
        self.bodies.append(json.loads(raw))
        return PlainTextResponse("ok")

    def values(self, key: str) -> list[dict[str, Any]]:
        """All ``messages`` or ``statuses`` entries received, in order."""
        return [
            item
            for body in self.bodies
            for change in body["entry"][0]["changes"]
            for item in change["value"].get(key, [])
        ]


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as server:
        yield server


@pytest.fixture
async def inbox(fake: FakeGraph) -> AsyncIterator[Receiver]:
    """A receiver on a free port, set as the fake's webhook_url (only where webhooks are sent)."""
    receiver = Receiver()
    app = Starlette(routes=[Route("/whatsapp/webhook", receiver.webhook, methods=["GET", "POST"])])
    async with serving(app) as url:
        fake.webhook_url = f"{url}/whatsapp/webhook"
        yield receiver


@pytest.fixture
async def api(fake: FakeGraph) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {fake.token}"}
    async with httpx.AsyncClient(base_url=fake.api_base_url, headers=headers) as client:
        yield client


def outgoing(kind: str, content: dict[str, Any], to: str = PARENT) -> dict[str, Any]:
    """A Cloud API send request, as the bot would POST it to /messages."""
    return {"messaging_product": "whatsapp", "to": to, "type": kind, kind: content}


def text(body: str, to: str = PARENT) -> dict[str, Any]:
    return outgoing("text", {"body": body}, to)


def buttons(*titles: str, body: str = "Kies maar") -> dict[str, Any]:
    replies = [
        {"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)
    ]
    return outgoing(
        "interactive",
        {"type": "button", "body": {"text": body}, "action": {"buttons": replies}},
    )


def a_list(*titles: str, sections: int = 1) -> dict[str, Any]:
    rows = [
        {"id": f"r{i}", "title": t, "description": "Open tot 17u"} for i, t in enumerate(titles)
    ]
    per = -(-len(rows) // sections)  # rows per section, rounded up
    parts = [{"title": f"Deel {n}", "rows": rows[n * per : (n + 1) * per]} for n in range(sections)]
    action = {"button": "Diensten", "sections": parts}
    return outgoing(
        "interactive", {"type": "list", "body": {"text": "Welke dienst?"}, "action": action}
    )


def template(name: str, lang: str) -> dict[str, Any]:
    components = [{"type": "body", "parameters": []}]
    return outgoing(
        "template", {"name": name, "language": {"code": lang}, "components": components}
    )


async def assert_invalid(api: httpx.AsyncClient, payload: dict[str, Any], code: int = 100) -> str:
    response = await api.post("/1000001/messages", json=payload)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["type"] == "OAuthException" and error["fbtrace_id"]
    return error["error_data"]["details"]


async def test_bearer_token_is_required(fake: FakeGraph) -> None:
    async with httpx.AsyncClient(base_url=fake.api_base_url) as client:
        missing = await client.post("/1000001/messages", json=text("hoi"))
        wrong = await client.get("/123", headers={"Authorization": "Bearer nope"})
        download = await client.get(f"{fake.url}/media-download/123")
    for response in (missing, wrong, download):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 190
        assert response.json()["error"]["message"] == "Invalid OAuth access token."
    assert fake.sent(PARENT) == [] and fake.failed_calls[0] == ("messages", 401)


async def test_text_message_is_accepted_inside_the_window(
    fake: FakeGraph, api: httpx.AsyncClient
) -> None:
    fake.open_window(PARENT)
    response = await api.post("/1000001/messages", json=text("Dag!", to="+" + PARENT))
    assert response.status_code == 200
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": "+" + PARENT, "wa_id": PARENT}]
    [sent] = fake.sent(PARENT)
    assert sent["id"] == answer["messages"][0]["id"] and sent["id"].startswith("wamid.")
    assert fake.text_of(sent) == "Dag!"
    assert (await fake.wait_for_messages(PARENT, 1)) == [sent]
    assert fake.calls[-1] == ("POST", "/v23.0/1000001/messages", 200)
    assert (await api.post("/999/messages", json=text("x"))).json()["error"]["error_subcode"] == 33


async def test_limits_answer_invalid_parameter(fake: FakeGraph, api: httpx.AsyncClient) -> None:
    fake.open_window(PARENT)
    assert "button.reply.title" in await assert_invalid(
        api, buttons("Ja", "Een veel te lange titel")
    )
    assert "buttons" in await assert_invalid(api, buttons("a", "b", "c", "d"))
    assert "titles must be unique" in await assert_invalid(api, buttons("Ja", "Ja"))
    assert "body.text" in await assert_invalid(api, buttons("Ja", body="x" * 1025))
    assert "10 rows" in await assert_invalid(
        api, a_list(*[f"Dienst {i}" for i in range(11)], sections=2)
    )
    assert "row.title" in await assert_invalid(api, a_list("Een dienst met veel te lange naam"))
    untitled = a_list("A", "B", sections=2)
    del untitled["interactive"]["action"]["sections"][1]["title"]
    assert "section.title" in await assert_invalid(api, untitled)
    assert "text.body" in await assert_invalid(api, text("x" * 4097))
    footer = buttons("Ja")
    footer["interactive"]["footer"] = {"text": "x" * 61}
    assert "footer.text" in await assert_invalid(api, footer)
    assert "type must be" in await assert_invalid(api, {**text("hoi"), "type": "poll"})
    assert "messaging_product" in await assert_invalid(
        api, {**text("hoi"), "messaging_product": "sms"}
    )
    assert fake.sent(PARENT) == []
    ok = [
        await api.post("/1000001/messages", json=p)
        for p in (buttons("Ja", "Nee", "Misschien"), a_list(*"ABCDEFGHIJ"))
    ]
    assert [r.status_code for r in ok] == [200, 200]
    assert fake.choices_of(fake.sent(PARENT)[1]) == list("ABCDEFGHIJ")


async def test_templates_must_exist_in_the_language(
    fake: FakeGraph, api: httpx.AsyncClient
) -> None:
    assert "does not exist in nl" in await assert_invalid(api, template("nope", "nl"), code=132001)
    await assert_invalid(api, template("wegwijs_answer_waiting", "de"), code=132001)
    response = await api.post("/1000001/messages", json=template("wegwijs_answer_waiting", "ar"))
    assert response.json()["messages"][0]["message_status"] == "accepted"
    [sent] = fake.templates_sent(PARENT)  # no inbound message needed: templates open the chat
    assert fake.text_of(sent) == "template:wegwijs_answer_waiting:ar"
    assert sent["template"]["components"] == [{"type": "body", "parameters": []}]


async def test_media_upload_info_download_and_send(fake: FakeGraph, api: httpx.AsyncClient) -> None:
    pdf = b"%PDF-1.4 folder"
    files = {"file": ("folder.pdf", pdf, "application/pdf")}
    form = {"messaging_product": "whatsapp", "type": "application/pdf"}
    media_id = (await api.post("/1000001/media", files=files, data=form)).json()["id"]
    assert fake.uploads[media_id] == (pdf, "application/pdf", "folder.pdf")
    info = (await api.get(f"/{media_id}")).json()
    assert info == {
        "messaging_product": "whatsapp",
        "url": f"{fake.url}/media-download/{media_id}",
        "mime_type": "application/pdf",
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "file_size": len(pdf),
        "id": media_id,
    }
    download = await api.get(info["url"])
    assert download.content == pdf and download.headers["content-type"] == "application/pdf"
    assert (await api.get("/424242")).json()["error"]["code"] == 100
    no_product = await api.post("/1000001/media", files=files, data={"type": "application/pdf"})
    no_file = await api.post("/1000001/media", files={"x": ("a", b"a")}, data=form)
    exe = await api.post(
        "/1000001/media",
        files={"file": ("a.exe", b"MZ", "application/x-msdownload")},
        data={"messaging_product": "whatsapp"},
    )
    assert [r.status_code for r in (no_product, no_file, exe)] == [400, 400, 400]

    fake.open_window(PARENT)
    document = {"id": media_id, "caption": "De folder", "filename": "folder.pdf"}
    message = outgoing("document", document)
    assert (await api.post("/1000001/messages", json=message)).status_code == 200
    assert fake.text_of(fake.sent(PARENT)[0]) == "De folder"
    assert "not a known media id" in await assert_invalid(api, outgoing("document", {"id": "1"}))
    audio = outgoing("audio", {"id": media_id, "caption": "x"})
    assert "caption" in await assert_invalid(api, audio)


async def test_fail_next_then_success(fake: FakeGraph, api: httpx.AsyncClient) -> None:
    fake.open_window(PARENT)
    fake.fail_next("messages", 500)
    fake.fail_next("messages", 429)
    first = await api.post("/1000001/messages", json=text("een"))
    second = await api.post("/1000001/messages", json=text("een"))
    third = await api.post("/1000001/messages", json=text("een"))
    assert (first.status_code, first.json()["error"]["code"]) == (500, 131000)
    assert (second.status_code, second.json()["error"]["code"]) == (429, 130429)
    assert third.status_code == 200
    assert [fake.text_of(m) for m in fake.sent(PARENT)] == ["een"]
    assert fake.failed_calls == [("messages", 500), ("messages", 429)]
    fake.fail_next("download", 503, code=131016)
    assert (await api.get(f"{fake.url}/media-download/1")).json()["error"]["code"] == 131016


async def test_parent_text_is_signed_like_meta(fake: FakeGraph, inbox: Receiver) -> None:
    delivery = await fake.parent_text(
        PARENT, "Hallo, waar is het Huis van het Kind? é/ش", name="Samira"
    )
    assert (delivery.status_code, delivery.response_text) == (200, "ok")
    assert (
        b"\\u00e9\\/\\u0634" in delivery.body
    )  # escaped like Meta: re-serializing breaks the HMAC
    [body] = inbox.bodies
    assert body["object"] == "whatsapp_business_account"
    value = body["entry"][0]["changes"][0]["value"]
    assert body["entry"][0]["changes"][0]["field"] == "messages"
    assert value["metadata"] == {
        "display_phone_number": "32470000000",
        "phone_number_id": "1000001",
    }
    assert value["contacts"] == [{"profile": {"name": "Samira"}, "wa_id": PARENT}]
    [message] = value["messages"]
    assert message["from"] == PARENT and message["id"] == delivery.message_id
    assert message["type"] == "text" and message["text"]["body"].endswith("é/ش")
    assert abs(int(message["timestamp"]) - time.time()) < 5

    assert (await fake.redeliver(delivery)).status_code == 200
    assert inbox.bodies[1] == inbox.bodies[0]
    forged = await fake.post_webhook(delivery.body, signature="sha256=" + "0" * 64)
    unsigned = await fake.post_webhook({"object": "whatsapp_business_account"}, signature=None)
    assert (forged.status_code, unsigned.status_code, inbox.rejected) == (401, 401, 2)
    assert (await fake.verify()).text == "1158201444"
    assert (await fake.verify(token="wrong")).status_code == 403


async def test_replies_to_buttons_lists_templates_and_media(
    fake: FakeGraph, api: httpx.AsyncClient, inbox: Receiver
) -> None:
    await fake.parent_text(PARENT, "hoi")
    await api.post("/1000001/messages", json=buttons("Ja", "Nee"))
    await api.post("/1000001/messages", json=a_list("Huis van het Kind", "CAW"))
    buttons_id, list_id = (m["id"] for m in fake.sent(PARENT))
    await fake.parent_choose(PARENT, "Nee")  # on the older message: still found
    await fake.parent_choose(PARENT, "r1")
    await fake.parent_button(PARENT, "b0", "Ja")
    with pytest.raises(AssertionError, match="'Huis van het Kind'"):
        await fake.parent_choose(PARENT, "Misschien")
    nee, caw, ja = inbox.values("messages")[1:]
    assert nee["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "b1", "title": "Nee"},
    }
    assert nee["context"] == {"from": "32470000000", "id": buttons_id}
    assert caw["interactive"]["list_reply"] == {
        "id": "r1",
        "title": "CAW",
        "description": "Open tot 17u",
    }
    assert caw["context"]["id"] == ja["context"]["id"] == list_id

    await fake.parent_template_reply(PARENT, "Stop")
    voice = await fake.parent_media(
        PARENT, "audio", b"OggS...", "audio/ogg; codecs=opus", voice=True
    )
    await fake.parent_location(PARENT, 50.88, 4.70)
    await fake.parent_reaction(PARENT, buttons_id, "👍")
    await fake.status(PARENT, buttons_id, "read")
    button, audio, location, reaction = inbox.values("messages")[4:]
    assert button["button"] == {"text": "Stop", "payload": "Stop"}
    assert (
        audio["audio"]["voice"] is True and audio["audio"]["mime_type"] == "audio/ogg; codecs=opus"
    )
    info = (await api.get(f"/{audio['audio']['id']}")).json()
    assert (await api.get(info["url"])).content == b"OggS..." and voice.status_code == 200
    assert location["location"] == {"latitude": 50.88, "longitude": 4.70}
    assert reaction["reaction"] == {"message_id": buttons_id, "emoji": "👍"}
    [status] = inbox.values("statuses")
    assert (status["id"], status["status"], status["recipient_id"]) == (buttons_id, "read", PARENT)


async def test_24_hour_window(fake: FakeGraph, api: httpx.AsyncClient, inbox: Receiver) -> None:
    await fake.parent_text(PARENT, "vorige week", at=time.time() - 25 * 3600)
    response = await api.post("/1000001/messages", json=text("Te laat"))
    assert response.status_code == 200  # Meta accepts it, and reports the failure later
    wamid = response.json()["messages"][0]["id"]
    assert fake.sent(PARENT) == [] and [m["id"] for m in fake.window_violations] == [wamid]
    await fake.drain()
    [status] = inbox.values("statuses")
    assert (status["id"], status["status"], status["recipient_id"]) == (wamid, "failed", PARENT)
    assert status["errors"][0]["code"] == 131047
    assert "24 hours" in status["errors"][0]["error_data"]["details"]

    await api.post("/1000001/messages", json=template("wegwijs_answer_waiting", "nl"))
    assert [fake.text_of(m) for m in fake.sent(PARENT)] == ["template:wegwijs_answer_waiting:nl"]
    await fake.parent_text(PARENT, "nu wel")
    await api.post("/1000001/messages", json=text("Welkom terug"))
    assert fake.text_of(fake.sent(PARENT)[-1]) == "Welkom terug"


async def test_wait_for_messages_cursor_and_clock() -> None:
    clock = [1_000_000.0]
    async with FakeGraph(now=lambda: clock[0]) as fake:
        fake.open_window(PARENT)
        headers = {"Authorization": f"Bearer {fake.token}"}
        async with httpx.AsyncClient(base_url=fake.api_base_url, headers=headers) as api:

            async def send_later() -> None:
                await asyncio.sleep(0.05)
                for body in ("een", "twee"):
                    await api.post("/1000001/messages", json=text(body))

            task = asyncio.create_task(send_later())
            assert [fake.text_of(m) for m in await fake.wait_for_messages(PARENT, 1)] == ["een"]
            await task
            assert [fake.text_of(m) for m in await fake.wait_for_messages(PARENT, 1)] == ["twee"]
            with pytest.raises(AssertionError, match="Timed out"):
                await fake.wait_for_messages(PARENT, 1, timeout=0.05)
            clock[0] += 24 * 3600
            assert (await api.post("/1000001/messages", json=text("drie"))).status_code == 200
            assert len(fake.window_violations) == 1 and len(fake.sent(PARENT)) == 2
