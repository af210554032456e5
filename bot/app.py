"""Wire the engine together from its parts (map, state, NLU), once, for any channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.conversation.engine import Engine
from bot.conversation.map_provider import MapProvider
from bot.conversation.state import StateStore
from bot.nlu import language
from bot.nlu.client import NLUClient
from bot.nlu.understand import Understander
from bot.paths import map_db_path, state_db_path


@asynccontextmanager
async def engine_for(
    nlu_url: str | None, state_path: Path | str | None = None, map_path: Path | None = None
) -> AsyncIterator[Engine]:
    """An engine talking to the Rasa server at ``nlu_url`` (None: no model, menu only)."""
    language.warm_up()
    client = NLUClient(nlu_url) if nlu_url else None
    maps = MapProvider(map_path or map_db_path())
    state = StateStore(state_path or state_db_path())
    try:
        yield Engine(maps, Understander(client), state)
    finally:
        if client is not None:
            await client.aclose()
        maps.close()
        state.close()
