"""The read API the bot uses: find services for a need near a parent, in their language.

Ranking puts the nearest help first: services located in or serving the asked area, then
city-wide ones, then the rest; within a tier the services whose main need this is, then open
now before closed before unknown hours, then by name. The tiers and the LIMIT run in SQL over
indexes; opening hours are evaluated only for a small window of candidates, so a query costs
well under a millisecond even with 50,000 services. The "open now" order is exact within that
window (``window = max(4 * limit, 20)`` rows of the best tiers): with a huge tier, an open
service sorted far down by name may not be looked at.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from social_map.hours import HoursError, is_open, state_at, to_brussels
from social_map.resolve import best_location, format_address, hours_for, is_local, pick_text
from social_map.schema import AREAS, CITY_WIDE, DEFAULT_LANGUAGE, LANGUAGES, NEEDS, Record
from social_map.text import search_tokens
from social_map.validators import suggest

# One query per tier, run best tier first, stopping as soon as the window is full: with a
# large map the local tier alone fills it, so most finds are a single index range scan.
_TIER_SQL = (
    """
    SELECT na.service_id, 0, na.secondary, na.sort_key, coalesce(na.hours, s.default_hours), s.doc
    FROM need_area na JOIN services s ON s.id = na.service_id
    WHERE na.need = :need AND na.area = :area
    ORDER BY na.secondary, na.sort_key, na.service_id LIMIT :window
    """,
    """
    SELECT na.service_id, 1, na.secondary, na.sort_key, s.default_hours, s.doc
    FROM need_area na JOIN services s ON s.id = na.service_id
    WHERE na.need = :need AND na.area = 'leuven' AND NOT EXISTS (
        SELECT 1 FROM service_areas sa WHERE sa.service_id = na.service_id AND sa.area = :area)
    ORDER BY na.secondary, na.sort_key, na.service_id LIMIT :window
    """,
    """
    SELECT sn.service_id, 2, sn.secondary, sn.sort_key, s.default_hours, s.doc
    FROM service_needs sn JOIN services s ON s.id = sn.service_id
    WHERE sn.need = :need AND NOT EXISTS (
        SELECT 1 FROM service_areas sa
        WHERE sa.service_id = sn.service_id AND sa.area IN (:area, 'leuven'))
    ORDER BY sn.secondary, sn.sort_key, sn.service_id LIMIT :window
    """,
)

_SEARCH_SQL = """
SELECT s.doc FROM (
    SELECT service_id, rank FROM services_fts WHERE services_fts MATCH :query
    ORDER BY rank LIMIT :limit
) f JOIN services s ON s.id = f.service_id
ORDER BY f.rank
"""

_OPEN_ORDER = {True: 0, False: 1, None: 2}


class MapError(ValueError):
    """A need, area or language the map does not know; the message suggests the right one."""


@dataclass(frozen=True)
class ServiceMatch:
    """One service as the bot shows it: texts in the asked language (Dutch fallback)."""

    id: str
    type: str
    name: str
    name_lang: str
    description: str
    description_lang: str
    needs: tuple[str, ...]
    areas: tuple[str, ...]
    local: bool
    address: str | None
    location_area: str | None
    phones: tuple[str, ...]
    url: str | None
    email: str | None
    whatsapp: str | None
    languages: tuple[str, ...]
    cost: str | None
    fees_description: str | None
    eligibility_description: str | None
    application_process: tuple[str, ...]
    application_description: str | None
    opening_hours: str | None
    opening_hours_note: str | None
    open_now: bool | None
    next_change: datetime | None
    last_verified: date
    sources: tuple[str, ...]
    minimum_age: int | None = None
    maximum_age: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, tuples as lists."""
        data = asdict(self)
        data["next_change"] = self.next_change.isoformat() if self.next_change else None
        data["last_verified"] = self.last_verified.isoformat()
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def _check_need(need: str) -> None:
    if need not in NEEDS:
        raise MapError(f'unknown need "{need}"{suggest(need, NEEDS)}')


def _check_area(area: str | None) -> str | None:
    """The area to rank for; ``leuven`` (the whole city) ranks like no area at all."""
    if area is None or area == CITY_WIDE:
        return None
    if area not in AREAS:
        hint = suggest(area, (*AREAS, CITY_WIDE)) or f" (known areas: {', '.join(AREAS)})"
        raise MapError(f'unknown area "{area}"{hint}')
    return area


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise MapError(f'unknown language "{lang}"{suggest(lang, LANGUAGES)}')
    return lang


def _safe_is_open(expression: str | None, at: datetime) -> bool | None:
    try:
        return is_open(expression, at)
    except HoursError:
        return None


def make_match(record: Record, lang: str, area: str | None, at: datetime) -> ServiceMatch:
    """Resolve a stored record for one parent: language, neighbourhood, hours at ``at``."""
    location = best_location(record, area)
    hours = hours_for(record, area)
    try:
        state = state_at(hours, at)
        open_now, next_change = state.open_now, state.next_change
    except HoursError:
        open_now, next_change = None, None
    name, name_lang = pick_text(record["name"], lang)
    description, description_lang = pick_text(record["description"], lang)
    return ServiceMatch(
        id=record["id"],
        type=record["type"],
        name=name or record["id"],
        name_lang=name_lang or DEFAULT_LANGUAGE,
        description=description or "",
        description_lang=description_lang or DEFAULT_LANGUAGE,
        needs=tuple(record["needs"]),
        areas=tuple(record["areas"]),
        local=is_local(record, area),
        address=format_address(location),
        location_area=location["area"] if location else None,
        phones=tuple(phone["number"] for phone in record["phones"]),
        url=record["url"],
        email=record["email"],
        whatsapp=record["whatsapp"],
        languages=tuple(record["languages"]),
        cost=record["cost"],
        fees_description=pick_text(record["fees_description"], lang)[0],
        eligibility_description=pick_text(record["eligibility_description"], lang)[0],
        application_process=tuple(record["application_process"]),
        application_description=pick_text(record["application_description"], lang)[0],
        opening_hours=hours,
        opening_hours_note=pick_text(record["opening_hours_note"], lang)[0],
        open_now=open_now,
        next_change=next_change,
        last_verified=date.fromisoformat(record["last_verified"]),
        sources=tuple(source["url"] for source in record["source"] if source.get("url")),
        minimum_age=record["minimum_age"],
        maximum_age=record["maximum_age"],
    )


class SocialMap:
    """A read-only view of a built map database; safe to share between threads."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, path: Path) -> SocialMap:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no social map database at {path}; build it with `wegwijs map build`"
            )
        uri = f"{path.resolve().as_uri()}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        try:
            connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        except sqlite3.DatabaseError as error:
            connection.close()
            raise ValueError(f"{path} is not a social map database ({error})") from error
        return cls(connection, path)

    def __enter__(self) -> SocialMap:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def find(
        self,
        need: str,
        area: str | None = None,
        lang: str = DEFAULT_LANGUAGE,
        at: datetime | None = None,
        limit: int = 5,
    ) -> list[ServiceMatch]:
        """Services for ``need``, nearest first (see the module docstring for the order)."""
        _check_need(need)
        area = _check_area(area)
        lang = _check_lang(lang)
        if limit <= 0:
            return []
        moment = to_brussels(at)
        window = max(4 * limit, 20)
        rows: list[Any] = []
        for tier_sql in _TIER_SQL if area else _TIER_SQL[1:]:
            params = {"need": need, "area": area, "window": window - len(rows)}
            rows += self._query(tier_sql, params)
            if len(rows) >= window:
                break
        open_by_hours: dict[str | None, int] = {}
        for row in rows:
            if row[4] not in open_by_hours:
                open_by_hours[row[4]] = _OPEN_ORDER[_safe_is_open(row[4], moment)]
        ranked = sorted(rows, key=lambda r: (r[1], r[2], open_by_hours[r[4]], r[3], r[0]))
        return [make_match(json.loads(row[5]), lang, area, moment) for row in ranked[:limit]]

    def search(
        self,
        text: str,
        lang: str = DEFAULT_LANGUAGE,
        limit: int = 10,
        *,
        area: str | None = None,
        at: datetime | None = None,
    ) -> list[ServiceMatch]:
        """Full-text search over names and descriptions in all languages (best match first).

        All words must match (word starts count: "huiswerk" finds "huiswerkklas"); when that
        finds nothing, any word may match.
        """
        lang = _check_lang(lang)
        area = _check_area(area)
        tokens = search_tokens(text)
        if not tokens or limit <= 0:
            return []
        terms = [f'"{token}"*' if len(token) >= 3 else f'"{token}"' for token in tokens]
        rows = self._query(_SEARCH_SQL, {"query": " ".join(terms), "limit": limit})
        if not rows and len(terms) > 1:
            rows = self._query(_SEARCH_SQL, {"query": " OR ".join(terms), "limit": limit})
        moment = to_brussels(at)
        return [make_match(json.loads(row[0]), lang, area, moment) for row in rows]

    def get(
        self,
        service_id: str,
        lang: str = DEFAULT_LANGUAGE,
        area: str | None = None,
        at: datetime | None = None,
    ) -> ServiceMatch | None:
        lang = _check_lang(lang)
        area = _check_area(area)
        rows = self._query("SELECT doc FROM services WHERE id = ?", (service_id,))
        if not rows:
            return None
        return make_match(json.loads(rows[0][0]), lang, area, to_brussels(at))

    def schools(self) -> list[tuple[str, str]]:
        """(id, Dutch name) of every school on the map: parents name their child's school."""
        return [
            (r[0], r[1])
            for r in self._query("SELECT id, name_nl FROM services WHERE type = 'school'")
        ]

    def services(self) -> list[tuple[str, str]]:
        """(id, Dutch name) of every service that is not a school, by name: what a bridge
        worker can register a referral to."""
        return [
            (r[0], r[1])
            for r in self._query(
                "SELECT id, name_nl FROM services WHERE type != 'school' ORDER BY name_nl, id"
            )
        ]

    def needs_with_services(self) -> set[str]:
        return {row[0] for row in self._query("SELECT DISTINCT need FROM service_needs")}

    def meta(self) -> dict[str, Any]:
        """``built_at`` (datetime), ``version`` (hash of the YAML files), ``count``,
        ``oldest_verified`` (date): how old the map's knowledge is."""
        values = dict(self._query("SELECT key, value FROM meta"))
        oldest = values.get("oldest_verified")
        return {
            "built_at": datetime.fromisoformat(values["built_at"]),
            "version": values["version"],
            "count": int(values["count"]),
            "oldest_verified": date.fromisoformat(oldest) if oldest else None,
        }

    def close(self) -> None:
        with self._lock:
            self._db.close()
