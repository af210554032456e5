"""``/healthz``: what an operator's monitor (or Docker's health check) reads. It is 200 while
parents are being served, even by the menu alone, and 503 when they cannot be."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e import STAFF

from bot.app import wegwijs
from bot.channels.telegram.config import TelegramConfig
from bot.handoff.workers import SAMPLE_FILE, load_team
from bot.nlu.server import free_port
from bot.server import BotServer
from fakes.serving import serving
from fakes.telegram_api import FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(STAFF, "Brugfiguren Leuven")
        yield server


@pytest.fixture
def run_bot(fake: FakeTelegram, map_db: Path, tmp_path: Path) -> Callable[..., Any]:
    @asynccontextmanager
    async def running(nlu_url: str) -> AsyncIterator[tuple[BotServer, str]]:
        config = TelegramConfig(
            token=fake.token, staff_chat_id=STAFF, api_base_url=fake.url, poll_timeout=1
        )
        async with (
            wegwijs(
                nlu_url,
                team=load_team(SAMPLE_FILE),
                staff_room=True,
                state_path=tmp_path / "state.db",
                map_path=map_db,
            ) as app,
            BotServer(app, config, tick_every=3600, outbox_idle=0.05) as server,
            serving(server.asgi()) as url,
        ):
            yield server, url

    return running


@pytest.mark.rasa
async def test_everything_up(run_bot: Callable[..., Any], rasa_url: str) -> None:
    async with run_bot(rasa_url) as (_server, url), httpx.AsyncClient() as client:
        response = await client.get(f"{url}/healthz")
    report = response.json()
    assert response.status_code == 200 and report["ok"] and not report["degraded"]
    assert report["nlu"]["ok"] and report["nlu"]["model"].endswith(".tar.gz")
    assert report["database"]["ok"] and report["database"]["map"]["services"] > 40
    assert report["database"]["outbox"] == {
        "pending": 0,
        "held": 0,
        "resent_after_crash": 0,
        "oldest_pending_s": 0,
    }
    assert report["channels"]["telegram"]["running"] is True


@pytest.mark.rasa
async def test_one_of_two_rasa_servers_down_is_counted_not_degraded(
    run_bot: Callable[..., Any], rasa_url: str
) -> None:
    """NLU_URL with two servers, one dead: parents are still understood; the monitor sees
    how many are up, and no address (it could carry a password)."""
    dead = f"http://127.0.0.1:{free_port()}"
    async with run_bot(f"{dead},{rasa_url}") as (_server, url), httpx.AsyncClient() as client:
        response = await client.get(f"{url}/healthz")
    report = response.json()
    assert response.status_code == 200 and report["ok"] and not report["degraded"]
    nlu = report["nlu"]
    assert nlu["ok"] and (nlu["up"], nlu["of"]) == (1, 2) and nlu["model"].endswith(".tar.gz")
    assert [server["ok"] for server in nlu["servers"]] == [False, True]
    assert "127.0.0.1" not in response.text.replace(url, "")


async def test_rasa_down_is_degraded_but_healthy(run_bot: Callable[..., Any]) -> None:
    async with run_bot(f"http://127.0.0.1:{free_port()}") as (_server, url):
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{url}/healthz")
        assert response.status_code == 200  # parents still get the menu
        report = response.json()
        assert report["degraded"] and report["nlu"] == {
            "ok": False,
            "up": 0,
            "of": 1,
            "error": "ConnectError",
        }


async def test_a_broken_database_or_a_stopped_channel_is_unhealthy(
    run_bot: Callable[..., Any],
) -> None:
    async with run_bot(f"http://127.0.0.1:{free_port()}") as (server, url):
        async with httpx.AsyncClient() as client:
            await server.telegram.application.updater.stop()  # polling died
            stopped = await client.get(f"{url}/healthz")
            server.app.state.close()  # the disk went away under us
            broken = await client.get(f"{url}/healthz")
        assert stopped.status_code == 503
        assert stopped.json()["channels"]["telegram"]["running"] is False
        assert broken.status_code == 503
        assert broken.json()["database"] == {"ok": False, "error": "ProgrammingError"}
