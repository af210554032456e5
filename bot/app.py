"""Wire the bot together from its parts (map, state, NLU, handoff desk), once, for any channel."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.clock import Clock, system_clock
from bot.conversation.engine import Engine
from bot.conversation.map_provider import MapProvider
from bot.conversation.state import StateStore
from bot.db import database_target
from bot.followup.checkback import CheckBackPolicy, CheckBacks, ask_due
from bot.followup.quiet import QuietPolicy
from bot.handoff.desk import HandoffDesk
from bot.handoff.files import DeskFiles
from bot.handoff.workers import SAMPLE_FILE, Team, TeamFile, load_team, workers_file
from bot.nlu import language
from bot.nlu.client import NLUClient, nlu_urls
from bot.nlu.understand import Understander
from bot.paths import map_db_path
from bot.retention import Retention, purge
from bot.router import Router

log = logging.getLogger(__name__)


@dataclass
class Wegwijs:
    """The running bot: what every channel adapter needs."""

    engine: Engine
    desk: HandoffDesk
    router: Router
    state: StateStore
    maps: MapProvider
    nlu: NLUClient | None
    retention: Retention
    clock: Clock

    def purge(self) -> None:
        """Delete what has been kept long enough (see :mod:`bot.retention`)."""
        purge(self.state, self.desk, self.retention, self.clock())

    def ask_checkbacks(self) -> int:
        """Queue the check-back questions that are due (see :mod:`bot.followup.checkback`)."""

        def name_of(service_id: str) -> str | None:
            found = self.maps.current().get(service_id)
            return found.name if found else None

        def send(chat_key: str, action: str, payload: dict[str, object]) -> None:
            self.desk.outbox.put("parent", chat_key, action, payload)

        def in_handoff(chat_key: str) -> bool:
            return self.desk.open_for(chat_key) is not None

        return ask_due(self.engine.checkbacks, send, name_of, in_handoff)


def team_or_sample(required: bool) -> Team | TeamFile:
    """The configured bridge workers (read again when the file changes); the sample file only
    for a local try-out."""
    path = workers_file()
    if path is not None:
        return TeamFile(path)
    if required:
        from bot.handoff.workers import WorkersError

        raise WorkersError(
            "no bridge workers configured: set WEGWIJS_BRIDGE_WORKERS to your bridge workers "
            f"file (format: {SAMPLE_FILE.name}, guide: docs/bridge-workers.md)"
        )
    return load_team(SAMPLE_FILE)


@asynccontextmanager
async def wegwijs(
    nlu_url: str | None,
    *,
    team: Team | TeamFile,
    staff_room: bool,
    state_path: Path | str | None = None,
    files_dir: Path | None = None,
    map_path: Path | None = None,
    clock: Clock = system_clock,
    nlu_timeout: float = 1.0,
    retention: Retention | None = None,
    checkback_policy: CheckBackPolicy | None = None,
) -> AsyncIterator[Wegwijs]:
    retention = retention or Retention.from_env()
    language.warm_up()
    # NLU_URL may name several Rasa servers; their cool-downs run on the bot's one clock.
    urls = nlu_urls(nlu_url or "")
    client = NLUClient(urls, timeout=nlu_timeout, clock=clock) if urls else None
    maps = MapProvider(map_path or map_db_path())
    state = StateStore(state_path or database_target(), clock)  # the one clock, for everything
    checkbacks = CheckBacks(state, checkback_policy or CheckBackPolicy.from_env())
    engine = Engine(maps, Understander(client), state, retention.days, checkbacks)

    def school_name(school_id: str) -> str | None:
        found = maps.current().get(school_id)
        return found.name if found else None

    known_schools = {school_id for school_id, _ in maps.current().schools()}
    workers = team.current().workers if isinstance(team, TeamFile) else team.workers
    for worker in workers:
        for school in set(worker.schools) - known_schools:
            log.warning(
                "bridge workers file: school %r (worker %s) is not on the social map; "
                "routing by that school will never match",
                school,
                worker.first_name,
            )
    if files_dir is None:
        # Workers' uploads in the desk: next to the state database (in the data directory).
        files_dir = state.files_dir()
    files = DeskFiles(state, files_dir)
    desk = HandoffDesk(
        state,
        team,
        staff_room=staff_room,
        school_names=school_name,
        files=files,
        quiet=QuietPolicy.from_env(),
    )
    app = Wegwijs(engine, desk, Router(engine, desk), state, maps, client, retention, clock)
    try:
        app.purge()
        yield app
    finally:
        if client is not None:
            await client.aclose()
        maps.close()
        state.close()
