"""The bot's HTTP client for Rasa's ``POST /model/parse``.

Rasa can be down, slow or answer nonsense. A parent must still get the menu of needs within
2 seconds, so every call has a hard timeout (1 s by default) and any failure returns ``None``:
the conversation engine treats that as "not understood" and shows the menu.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 1.0
MAX_PARSE_CHARS = 1000  # the model learns from short messages; a 5,000-character one is cut


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str
    start: int | None = None  # where the entity is in the text sent (to read "6 months")
    end: int | None = None


@dataclass(frozen=True)
class NLUParse:
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    ranking: tuple[tuple[str, float], ...] = field(default_factory=tuple)


class NLUClient:
    """Asynchronous Rasa client with a timeout and a degraded mode (returns None)."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_keepalive_connections=20),
            )
        return self._client

    async def parse(self, text: str) -> NLUParse | None:
        """Parse ``text``; ``None`` when Rasa is down, slow or answers garbage."""
        try:
            client = await self._http()
            # httpx's timeout bounds each read; this bounds the whole call, so a server that
            # dribbles its answer out cannot hold a parent up either.
            async with asyncio.timeout(self.timeout):
                resp = await client.post("/model/parse", json={"text": text[:MAX_PARSE_CHARS]})
            resp.raise_for_status()
            return _read(resp.json())
        except (httpx.HTTPError, TimeoutError, ValueError, TypeError, KeyError) as exc:
            # The exception type only: the message could echo what the parent wrote.
            log.warning("nlu unavailable: %s", type(exc).__name__)
            return None

    async def status(self) -> dict[str, object]:
        """For ``/healthz``: is Rasa up with a model loaded, and which one."""
        try:
            client = await self._http()
            resp = await client.get("/status")
            resp.raise_for_status()
            model = resp.json().get("model_file")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return {"ok": False, "error": type(exc).__name__}
        if not isinstance(model, str) or not model:
            return {"ok": False, "error": "no model loaded"}
        return {"ok": True, "model": model.rsplit("/", 1)[-1]}

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _read(payload: object) -> NLUParse | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("intent"), dict):
        raise ValueError("not a Rasa parse result")
    intent = payload["intent"]
    name, confidence = intent.get("name"), intent.get("confidence")
    if not isinstance(name, str) or not isinstance(confidence, int | float):
        raise ValueError("intent without name or confidence")
    if not math.isfinite(confidence) or not 0 <= confidence <= 1:
        raise ValueError("confidence out of range")
    entities = tuple(
        Entity(str(e["entity"]), str(e["value"]), _offset(e.get("start")), _offset(e.get("end")))
        for e in payload.get("entities") or []
        if isinstance(e, dict) and "entity" in e and "value" in e
    )
    ranking = tuple(
        (str(r["name"]), float(r["confidence"]))
        for r in payload.get("intent_ranking") or []
        if isinstance(r, dict) and "name" in r and "confidence" in r
    )
    return NLUParse(name, float(confidence), entities, ranking)


def _offset(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
