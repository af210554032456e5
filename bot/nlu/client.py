"""The bot's HTTP client for Rasa's ``POST /model/parse``, over one or several Rasa servers.

Rasa can be down, slow or answer nonsense. A parent must still get the menu of needs within
2 seconds, so every call has a hard timeout (1 s by default) and any failure returns ``None``:
the conversation engine treats that as "not understood" and shows the menu.

``NLU_URL`` may name several Rasa servers (comma or space separated), so that the bot keeps
understanding parents when one of them goes down. Calls take turns over the servers that
are up (spreading the load); a server that refuses the connection, times out, breaks off,
answers 5xx (or 409: no model loaded) or answers garbage is skipped for a short cool-down
and the same text goes to the next one, within the same time budget. Refused connections,
resets and 5xx answers (a stopped container, a crashed process) cost milliseconds, so the
parent is understood anyway; a server that hangs costs the one call that met it, after which
it is skipped. The cool-down is measured on the bot's one clock (:mod:`bot.clock`), like every
other time in the bot. One address behind a load balancer is just a list of one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from bot.clock import Clock, system_clock

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 1.0
MAX_PARSE_CHARS = 1000  # the model learns from short messages; a 5,000-character one is cut
# How long a server that failed is left alone before it is tried again. Short: a restarted
# Rasa container is back within a minute or two, and trying a dead one costs little.
DEFAULT_COOLDOWN = timedelta(seconds=30)
# Answers that say "this server cannot answer now", not "this text is wrong": try another.
# 409 is Rasa's answer when no model is loaded (a replica still starting).
_SERVER_TROUBLE = {409} | set(range(500, 600))
_SEPARATORS = re.compile(r"[\s,]+")


def nlu_urls(value: str | Sequence[str]) -> list[str]:
    """The Rasa servers in ``value``: one URL, or several separated by commas or spaces
    (``NLU_URL="http://rasa-1:5005, http://rasa-2:5005"``). Order kept, duplicates dropped;
    empty when ``value`` names none."""
    parts = _SEPARATORS.split(value) if isinstance(value, str) else list(value)
    urls: list[str] = []
    for part in parts:
        url = part.strip().rstrip("/")
        if url and url not in urls:
            urls.append(url)
    return urls


class _ServerTrouble(Exception):
    """A Rasa server answered with a status that says it cannot answer now."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


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
    """Asynchronous Rasa client with a timeout, fail-over between servers and a degraded mode
    (returns None)."""

    def __init__(
        self,
        base_url: str | Sequence[str],
        timeout: float = DEFAULT_TIMEOUT,
        *,
        clock: Clock = system_clock,
        cooldown: timedelta = DEFAULT_COOLDOWN,
    ) -> None:
        self.urls = nlu_urls(base_url)
        if not self.urls:
            raise ValueError("no Rasa server URL given")
        self.base_url = self.urls[0]
        self.timeout = timeout
        self.cooldown = cooldown
        self._clock = clock
        self._down_until: dict[str, datetime] = {}  # server -> skipped until (the bot's clock)
        self._turn = 0  # which server the next call starts with
        self._client: httpx.AsyncClient | None = None

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_keepalive_connections=20),
            )
        return self._client

    # -- Which server --------------------------------------------------------------------------

    def _is_up(self, url: str, now: datetime) -> bool:
        until = self._down_until.get(url)
        return until is None or now >= until

    def _order(self) -> list[str]:
        """The servers to try for one call: those up, taking turns; then those cooling down
        (soonest back first), because trying a server thought dead beats not understanding."""
        now = self._clock()
        start = self._turn % len(self.urls)
        self._turn += 1
        rotated = self.urls[start:] + self.urls[:start]
        up = [url for url in rotated if self._is_up(url, now)]
        down = sorted(
            (url for url in self.urls if not self._is_up(url, now)),
            key=lambda url: self._down_until[url],
        )
        return up + down

    def _mark_down(self, url: str, error: BaseException) -> None:
        was_up = self._is_up(url, self._clock())
        self._down_until[url] = self._clock() + self.cooldown
        if was_up:
            # Which server (by position, the URL could carry a password) and the exception
            # type only: the message could echo what the parent wrote.
            log.warning(
                "nlu server %d of %d unavailable: %s",
                self.urls.index(url) + 1,
                len(self.urls),
                type(error).__name__,
            )

    def _mark_up(self, url: str) -> None:
        if self._down_until.pop(url, None) is not None:
            log.info("nlu server %d of %d is back", self.urls.index(url) + 1, len(self.urls))

    def servers_up(self) -> int:
        """How many servers are not cooling down after a failure (what the bot believes)."""
        now = self._clock()
        return sum(self._is_up(url, now) for url in self.urls)

    # -- Calls ---------------------------------------------------------------------------------

    async def parse(self, text: str) -> NLUParse | None:
        """Parse ``text``; ``None`` when no Rasa server answered well within the timeout.

        The timeout bounds the whole call, over every server tried. While another server is
        left to try, one server gets half of what remains: a hanging server then still leaves
        time for the next (a healthy Rasa answers in well under a tenth of that), and with a
        single server the call has the whole timeout, as before."""
        payload = {"text": text[:MAX_PARSE_CHARS]}
        last: BaseException | None = None
        try:
            client = await self._http()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout  # a timer for the budget, not a time of day
            order = self._order()
            for position, url in enumerate(order):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                share = remaining / 2 if position < len(order) - 1 else remaining
                try:
                    # httpx's timeout bounds each read; this bounds the whole answer, so a
                    # server that dribbles its answer out cannot hold a parent up either.
                    async with asyncio.timeout(share):
                        resp = await client.post(f"{url}/model/parse", json=payload)
                    if resp.status_code in _SERVER_TROUBLE:
                        raise _ServerTrouble(resp.status_code)
                    resp.raise_for_status()  # another 4xx: this request, not the server
                    parsed = _read(resp.json())
                except (
                    httpx.TransportError,
                    TimeoutError,
                    _ServerTrouble,
                    ValueError,
                    TypeError,
                    KeyError,
                ) as exc:
                    # A server fault (down, hanging, broken off, overloaded, garbage): the
                    # next server, and this one is left alone for a while.
                    self._mark_down(url, exc)
                    last = exc
                    continue
                self._mark_up(url)
                return parsed
        except httpx.HTTPError as exc:
            last = exc
        if last is not None:
            # The exception type only: the message could echo what the parent wrote.
            log.warning("nlu unavailable: %s", type(last).__name__)
        return None

    async def status(self) -> dict[str, object]:
        """For ``/healthz``: how many Rasa servers are up with a model loaded, and which model.

        Each server is asked; the answers also update the cool-downs, so a server that came
        back is used again at once. No URL is reported (it could carry a password)."""
        client = await self._http()
        reports = await asyncio.gather(*(self._status_of(client, url) for url in self.urls))
        up = [report for report in reports if report["ok"]]
        summary: dict[str, object] = {"ok": bool(up), "up": len(up), "of": len(self.urls)}
        if up:
            summary["model"] = up[0]["model"]
        else:
            summary["error"] = reports[0]["error"]
        if len(self.urls) > 1:
            summary["servers"] = reports
        return summary

    async def _status_of(self, client: httpx.AsyncClient, url: str) -> dict[str, object]:
        try:
            resp = await client.get(f"{url}/status")
            resp.raise_for_status()
            model = resp.json().get("model_file")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            self._mark_down(url, exc)
            return {"ok": False, "error": type(exc).__name__}
        if not isinstance(model, str) or not model:
            self._mark_down(url, _ServerTrouble(409))
            return {"ok": False, "error": "no model loaded"}
        self._mark_up(url)
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
