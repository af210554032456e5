"""A deployment with WhatsApp and the desk, and no Telegram at all: the real bot served over
HTTP, the real Rasa server, the fake Graph API at the network boundary, and a worker using the
desk over HTTP.

Nothing is queued for a staff group that does not exist; an unclaimed question is announced
again and escalated in the desk; the worker's text and PDF reach the parent on WhatsApp; the
parent's photo is shown in the desk through the Graph API; and after 24 hours an answer is
shown as held until the parent writes again.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import tiny_pdf, tiny_png
from e2e import Clock, named, offers
from e2e import wa_until as until

from bot.app import Wegwijs, wegwijs
from bot.channels.whatsapp.config import WhatsAppConfig
from bot.desk.auth import DeskSettings, Passwords
from bot.handoff.workers import SAMPLE_FILE, load_team
from bot.server import BotServer
from fakes.graph_api import FakeGraph
from fakes.serving import serving

pytestmark = pytest.mark.rasa
text_of = FakeGraph.text_of
PASSWORD = "samira-desk-2026"


class Running:
    def __init__(self, server: BotServer, app: Wegwijs, url: str) -> None:
        self.server, self.app, self.url = server, app, url


@pytest.fixture
async def graph(clock: Clock) -> AsyncIterator[FakeGraph]:
    async with FakeGraph(now=clock.timestamp) as server:
        yield server


@pytest.fixture
def run_bot(
    graph: FakeGraph, clock: Clock, rasa_url: str, map_db: Path, tmp_path: Path
) -> Callable[[], Any]:
    @asynccontextmanager
    async def running() -> AsyncIterator[Running]:
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
                staff_room=False,  # no Telegram staff group: the desk only
                state_path=tmp_path / "state.db",
                map_path=map_db,
                clock=clock,
                nlu_timeout=5.0,
            ) as app,
            BotServer(
                app,
                None,
                wa,
                tick_every=3600,
                outbox_idle=0.05,
                desk=DeskSettings(secret="test"),
            ) as server,
            serving(server.asgi()) as url,
        ):
            graph.webhook_url = f"{url}/whatsapp/webhook"
            Passwords(app.state).set("samira", PASSWORD, clock())
            yield Running(server, app, url)

    return running


async def sign_in(desk: httpx.AsyncClient) -> None:
    login = await desk.get("/desk/login")
    signed = await desk.post(
        "/desk/login",
        data={"login": "samira", "password": PASSWORD, "csrf": csrf(login.text), "next": "/desk/"},
    )
    assert signed.status_code == 303


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_a_whatsapp_only_desk(
    graph: FakeGraph, run_bot: Callable[[], Any], clock: Clock
) -> None:
    parent = "32470000201"
    async with run_bot() as bot, httpx.AsyncClient(base_url=bot.url, timeout=30) as desk:
        await sign_in(desk)
        start = (await desk.get("/desk/poll")).json()["after"]

        await graph.parent_text(parent, "ik wil met iemand praten, ik woon in Heverlee")
        await until(graph, parent, lambda m: offers(m, "handoff:yes"))
        await graph.parent_choose(parent, "handoff:yes")
        await until(graph, parent, lambda m: named(text_of(m)))
        db, _ = bot.app.state.connection
        assert db.scalar("SELECT COUNT(*) FROM outbox WHERE lane = 'staff'") == 0

        # Unclaimed: announced again, then escalated, in the desk.
        bot.app.desk.clock.now += timedelta(minutes=31)  # type: ignore[attr-defined]
        bot.app.desk.tick()
        bot.app.desk.clock.now += timedelta(minutes=100)  # type: ignore[attr-defined]
        bot.app.desk.tick()
        await sign_in(desk)  # over two hours later: the session ended
        events = (await desk.get(f"/desk/poll?after={start}")).json()["events"]
        assert [(e["kind"], e["notify"]) for e in events] == [
            ("opened", True),
            ("reannounce", True),
            ("escalate", False),  # for the coordinator (Nadia), and Samira does not have it
        ]
        assert db.scalar("SELECT COUNT(*) FROM outbox WHERE lane = 'staff'") == 0

        page = await desk.get("/desk/h/1")
        assert "WhatsApp-venster open" in page.text
        token = csrf(page.text)
        assert (await desk.post("/desk/h/1/pickup", data={"csrf": token})).status_code == 303
        await until(graph, parent, lambda m: "Samira" in text_of(m))
        sent = await desk.post(
            "/desk/h/1/reply",
            data={"csrf": token, "text": "Dag! Hier is het formulier."},
            files={"file": ("formulier.pdf", tiny_pdf(), "application/pdf")},
        )
        assert sent.status_code == 303
        document = await until(graph, parent, lambda m: m.get("type") == "document")
        assert document["document"]["filename"] == "formulier.pdf"
        assert "Hier is het formulier." in text_of(document)
        content, mime, _ = graph.uploads[document["document"]["id"]]
        assert content == tiny_pdf() and mime == "application/pdf"

        # The parent's photo, shown in the desk through the Graph API.
        await graph.parent_media(parent, "image", tiny_png(), "image/png", caption="de brief")
        for _ in range(100):
            page = await desk.get("/desk/h/1")
            if "/desk/h/1/file/" in page.text:
                break
        said = re.findall(r"/desk/h/1/file/(\d+)", page.text)[-1]
        photo = await desk.get(f"/desk/h/1/file/{said}")
        assert photo.status_code == 200 and photo.content == tiny_png()
        assert photo.headers["content-type"] == "image/png"

        # A day later the window is shut: the answer is held, and the desk says so.
        clock.now += timedelta(hours=25)
        await sign_in(desk)  # the same clock ended the session
        page = await desk.get("/desk/h/1")
        token = csrf(page.text)
        await desk.post(
            "/desk/h/1/reply",
            data={"csrf": token, "text": "Nog een vraag?"},
            files={"x": ("", b"")},
        )
        template = await until(graph, parent, lambda m: m.get("type") == "template")
        assert template["template"]["components"][0]["parameters"][0]["text"] == "Samira"
        for _ in range(100):
            page = await desk.get("/desk/h/1")
            if "vastgehouden:" in page.text:
                break
        assert "WhatsApp-venster dicht" in page.text and "1 antwoord vastgehouden" in page.text
        await graph.parent_text(parent, "ja?")
        await until(graph, parent, lambda m: "Nog een vraag?" in text_of(m))
        page = await desk.get("/desk/h/1")
        assert "vastgehouden:" not in page.text and "WhatsApp-venster open" in page.text
