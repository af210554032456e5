"""Shared fixtures: the real social map, and one real Rasa server for the whole session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from e2e import CLOCK_STARTS, Clock, map_checked_on
from postgres import PostgresServer

from bot.conversation.engine import Engine
from bot.conversation.map_provider import MapProvider
from bot.conversation.state import StateStore
from bot.nlu.client import NLUClient
from bot.nlu.understand import Understander
from bot.paths import MAP_DATA_DIR
from social_map.build import build_map

BRUSSELS = ZoneInfo("Europe/Brussels")
# A Tuesday in term time, 10:00: most services are open, none on holiday.
TUESDAY_MORNING = datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)


@pytest.fixture(scope="session")
def map_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("map") / "social_map.db"
    build_map(MAP_DATA_DIR, path, today=map_checked_on())
    return path


@pytest.fixture(scope="session")
def rasa_url() -> Iterator[str]:
    """The real Rasa server: ``NLU_URL`` if given, else trained (or reused) and started here."""
    if os.environ.get("NLU_URL"):
        yield os.environ["NLU_URL"].rstrip("/")
        return
    from bot.nlu.server import LocalRasaServer
    from bot.nlu.training import train

    model = train(quiet=True).model
    with LocalRasaServer(model) as server:
        yield server.url


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Clock:
    """The bot's one clock: the fixed Tuesday morning, or (with ``@any_date`` from tests/e2e.py)
    each of that, a year before the wall clock and a year after it."""
    return CLOCK_STARTS[getattr(request, "param", "fixed")]()


@pytest.fixture
async def engine(map_db: Path, rasa_url: str) -> AsyncIterator[Engine]:
    client = NLUClient(rasa_url, timeout=5.0)  # generous: CI machines are noisy
    maps = MapProvider(map_db)
    state = StateStore(":memory:", lambda: TUESDAY_MORNING)
    yield Engine(maps, Understander(client), state)
    await client.aclose()
    maps.close()
    state.close()


# -- the state database on both engines -------------------------------------------------------

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (Debian's binaries; ``make test`` installs
    them when missing), started on first use only."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=ENGINES)
def state_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where a test's state lives, once per engine: a SQLite file, or a fresh PostgreSQL
    database (its URL) that is dropped afterwards."""
    if request.param == "sqlite":
        yield tmp_path / "state.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.new_database()
    yield url
    server.drop_database(url)
