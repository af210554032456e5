"""The read API the bot uses: find services for a need near a parent, in their language.

Without a message, ranking puts the nearest help first: services located in or serving the
asked area, then city-wide ones, then the rest; within a tier the services whose main need
this is, then open now before closed before unknown hours, then by name. The tiers and the
LIMIT run in SQL over indexes; opening hours are evaluated only for a small window of
candidates (``window = max(4 * limit, 20)`` rows of the best tiers).

With a message (a :class:`~social_map.ranking.Query`), the services of the need that match
its words join that window, and everything is ordered by :func:`social_map.ranking.score`:
what the parent said first, then area, age and time. Entries past their ``end_date`` are
never returned.
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
from social_map.ranking import (
    EXPLAIN_THRESHOLD,
    OFFICE_HOURS,
    TIME_CRITICAL_NEEDS,
    Query,
    TextMatch,
    score,
    text_matches,
)
from social_map.resolve import best_location, format_address, hours_for, is_local, pick_text
from social_map.schema import AREAS, CITY_WIDE, DEFAULT_LANGUAGE, LANGUAGES, NEEDS, Record
from social_map.terms import Vocabulary, expand
from social_map.text import search_tokens
from social_map.validators import suggest

_LIVE = "(na.end_date IS NULL OR na.end_date >= :today)"
_LIVE_SN = "(sn.end_date IS NULL OR sn.end_date >= :today)"
TEXT_CANDIDATES = 8
"""At most this many services that match a message's words join the tier window (best text
first, and only those scoring at least a quarter of the best: a weak match cannot win)."""
COMMON_KEY_ROWS = 500
"""A key in more rows than this (across needs) is as common as a function word on this map:
it cannot tell services apart, and reading its rows would cost more than it gives."""

# One query per tier, run best tier first, stopping as soon as the window is full: with a
# large map the local tier alone fills it, so most finds are a single index range scan.
_TIER_SQL = (
    """
    SELECT na.service_id, 0, na.secondary, na.sort_key, coalesce(na.hours, s.default_hours),
        s.minimum_age, s.maximum_age, s.type
    FROM need_area na JOIN services s ON s.id = na.service_id
    WHERE na.need = :need AND na.area = :area AND """
    + _LIVE
    + """
    ORDER BY na.secondary, na.sort_key, na.service_id LIMIT :window
    """,
    """
    SELECT na.service_id, 1, na.secondary, na.sort_key, s.default_hours,
        s.minimum_age, s.maximum_age, s.type
    FROM need_area na JOIN services s ON s.id = na.service_id
    WHERE na.need = :need AND na.area = 'leuven' AND """
    + _LIVE
    + """ AND NOT EXISTS (
        SELECT 1 FROM service_areas sa WHERE sa.service_id = na.service_id AND sa.area = :area)
    ORDER BY na.secondary, na.sort_key, na.service_id LIMIT :window
    """,
    """
    SELECT sn.service_id, 2, sn.secondary, sn.sort_key, s.default_hours,
        s.minimum_age, s.maximum_age, s.type
    FROM service_needs sn JOIN services s ON s.id = sn.service_id
    WHERE sn.need = :need AND """
    + _LIVE_SN
    + """ AND NOT EXISTS (
        SELECT 1 FROM service_areas sa
        WHERE sa.service_id = sn.service_id AND sa.area IN (:area, 'leuven'))
    ORDER BY sn.secondary, sn.sort_key, sn.service_id LIMIT :window
    """,
)

# The services a message matched that the tier window did not hold: the same columns.
_EXTRA_SQL = """
SELECT s.id,
    CASE WHEN EXISTS (SELECT 1 FROM service_areas sa WHERE sa.service_id = s.id AND sa.area = ?)
        THEN 0
    WHEN EXISTS (SELECT 1 FROM service_areas sa WHERE sa.service_id = s.id AND sa.area = 'leuven')
        THEN 1 ELSE 2 END,
    (SELECT sn.secondary FROM service_needs sn WHERE sn.service_id = s.id AND sn.need = ?),
    s.sort_key,
    coalesce((SELECT na.hours FROM need_area na
              WHERE na.need = ? AND na.area = ? AND na.service_id = s.id), s.default_hours),
    s.minimum_age, s.maximum_age, s.type
FROM services s WHERE s.id IN ({marks})
"""

_SEARCH_SQL = """
SELECT s.doc FROM (
    SELECT service_id, rank FROM services_fts WHERE services_fts MATCH :query
    ORDER BY rank LIMIT :limit
) f JOIN services s ON s.id = f.service_id
WHERE s.end_date IS NULL OR s.end_date >= :today
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
    matched: tuple[str, ...] = ()
    """The keywords of this service that the parent's message matched (the "why")."""
    age_fit: bool | None = None
    """True when the child's age is in the service's range, None when either is unknown."""
    end_date: date | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, tuples as lists."""
        data = asdict(self)
        data["next_change"] = self.next_change.isoformat() if self.next_change else None
        data["last_verified"] = self.last_verified.isoformat()
        data["end_date"] = self.end_date.isoformat() if self.end_date else None
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


def make_match(
    record: Record,
    lang: str,
    area: str | None,
    at: datetime,
    matched: tuple[str, ...] = (),
    age_fit: bool | None = None,
) -> ServiceMatch:
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
        matched=matched,
        age_fit=age_fit,
        end_date=date.fromisoformat(record["end_date"]) if record.get("end_date") else None,
    )


@dataclass(frozen=True)
class Ranking:
    """The services for one question, and whether regular services are closed right now."""

    matches: list[ServiceMatch]
    after_hours: bool = False
    """Outside office hours for a question where time matters: open services came first."""


@dataclass(frozen=True)
class Explainer:
    """A short answer to "how does ... work?" in the asked language (Dutch fallback)."""

    id: str
    title: str
    text: str
    text_lang: str
    services: tuple[str, ...]
    sources: tuple[str, ...]
    last_verified: date
    score: float = 0.0


class SocialMap:
    """A read-only view of a built map database; safe to share between threads."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.path = path
        self._vocabulary: Vocabulary | None = None
        self._expanded: dict[str, dict[str, float]] = {}

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

    def vocabulary(self) -> Vocabulary:
        """Every key of the map's words (loaded once per opened map)."""
        if self._vocabulary is None:
            rows = self._query("SELECT key FROM vocabulary WHERE rows <= ?", (COMMON_KEY_ROWS,))
            self._vocabulary = Vocabulary.of(row[0] for row in rows)
        return self._vocabulary

    def topic(self, query: Query) -> Query:
        """``query`` with only the words the map knows: what may be kept in a chat state."""
        known = [word for word in query.words if self._expand(word)]
        return Query(tuple(dict.fromkeys(known)), query.age, query.urgent)

    def _key_words(self, query: Query | None) -> dict[str, list[tuple[str, float]]]:
        key_words: dict[str, list[tuple[str, float]]] = {}
        if query is None or not query.words:
            return key_words
        for word in dict.fromkeys(query.words):
            for key, factor in self._expand(word).items():
                key_words.setdefault(key, []).append((word, factor))
        return key_words

    def _expand(self, word: str) -> dict[str, float]:
        """:func:`expand` against this map's vocabulary, remembered: parents reuse words."""
        found = self._expanded.get(word)
        if found is None:
            found = expand(word, self.vocabulary())
            if len(self._expanded) < 50_000:
                self._expanded[word] = found
        return found

    def _text_matches(
        self, need: str, key_words: dict[str, list[tuple[str, float]]], today: str
    ) -> dict[str, TextMatch]:
        if not key_words:
            return {}
        keys = list(key_words)
        marks = ",".join("?" * len(keys))
        rows = self._query(
            f"SELECT service_id, key, weight, label FROM terms WHERE need = ? AND key IN "
            f"({marks}) AND (end_date IS NULL OR end_date >= ?)",
            (need, *keys, today),
        )
        return text_matches(rows, key_words)

    def find(
        self,
        need: str,
        area: str | None = None,
        lang: str = DEFAULT_LANGUAGE,
        at: datetime | None = None,
        limit: int = 5,
        *,
        query: Query | None = None,
    ) -> list[ServiceMatch]:
        """Services for ``need``, best first (see the module docstring for the order)."""
        return self.rank(need, area, lang, at, limit, query=query).matches

    def rank(
        self,
        need: str,
        area: str | None = None,
        lang: str = DEFAULT_LANGUAGE,
        at: datetime | None = None,
        limit: int = 5,
        *,
        query: Query | None = None,
    ) -> Ranking:
        """:meth:`find`, plus whether open services were put first because it is after hours."""
        _check_need(need)
        area = _check_area(area)
        lang = _check_lang(lang)
        if limit <= 0:
            return Ranking([])
        moment = to_brussels(at)
        today = moment.date().isoformat()
        window = max(4 * limit, 20)
        rows: list[Any] = []
        for tier_sql in _TIER_SQL if area else _TIER_SQL[1:]:
            params = {"need": need, "area": area, "window": window - len(rows), "today": today}
            rows += self._query(tier_sql, params)
            if len(rows) >= window:
                break
        # id -> (tier, secondary, sort_key, hours, minimum_age, maximum_age, type)
        candidates: dict[str, tuple[Any, ...]] = {row[0]: tuple(row[1:]) for row in rows}
        texts = self._text_matches(need, self._key_words(query), today)
        best = max((match.score for match in texts.values()), default=0.0)
        extra = sorted(
            (sid for sid, m in texts.items() if sid not in candidates and m.score >= best / 4),
            key=lambda sid: -texts[sid].score,
        )[:TEXT_CANDIDATES]
        if extra:
            sql = _EXTRA_SQL.format(marks=",".join("?" * len(extra)))
            for row in self._query(sql, (area, need, need, area, *extra)):
                candidates[row[0]] = tuple(row[1:])
        boost_open = (
            need in TIME_CRITICAL_NEEDS or bool(query and query.urgent)
        ) and _safe_is_open(OFFICE_HOURS, moment) is False
        open_by_hours: dict[str | None, bool | None] = {}

        def open_at(hours: str | None) -> bool | None:
            if hours not in open_by_hours:
                open_by_hours[hours] = _safe_is_open(hours, moment)
            return open_by_hours[hours]

        scored = []
        for sid, (tier, secondary, key, hours, low, high, kind) in candidates.items():
            match = texts.get(sid)
            value, age_fit = score(
                text=match.score if match else 0.0,
                tier=tier,
                secondary=bool(secondary),
                age=query.age if query else None,
                minimum_age=low,
                maximum_age=high,
                is_school=kind == "school",
                area_known=area is not None,
                open_now=open_at(hours) if boost_open else None,
                boost_open=boost_open,
                any_text=bool(texts),
            )
            scored.append(((-value, tier, secondary), key, sid, hours, match, age_fit))
        # Opening hours cost the most to evaluate: when they do not change the score, they only
        # break ties among the best few, like the window of the plain find.
        scored.sort(key=lambda item: (item[0], item[1], item[2]))
        ranked = sorted(
            (
                ((*head, _OPEN_ORDER[open_at(hours)], key, sid), sid, match, age_fit)
                for head, key, sid, hours, match, age_fit in scored[: max(3 * limit, 10)]
            ),
            key=lambda item: item[0],
        )
        top = ranked[:limit]
        marks = ",".join("?" * len(top))
        docs = dict(
            self._query(f"SELECT id, doc FROM services WHERE id IN ({marks})", [t[1] for t in top])
        )
        matches = [
            make_match(
                json.loads(docs[sid]),
                lang,
                area,
                moment,
                tuple(match.labels) if match else (),
                age_fit,
            )
            for _order, sid, match, age_fit in top
        ]
        return Ranking(matches, after_hours=boost_open)

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
        moment = to_brussels(at)
        today = moment.date().isoformat()
        rows = self._query(_SEARCH_SQL, {"query": " ".join(terms), "limit": limit, "today": today})
        if not rows and len(terms) > 1:
            rows = self._query(
                _SEARCH_SQL, {"query": " OR ".join(terms), "limit": limit, "today": today}
            )
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

    # -- explainers ----------------------------------------------------------------------------

    def _explainer(self, doc: str, lang: str, score_value: float = 0.0) -> Explainer:
        record = json.loads(doc)
        title, _ = pick_text(record["title"], lang)
        text, text_lang = pick_text(record["text"], lang)
        return Explainer(
            id=record["id"],
            title=title or record["id"],
            text=text or "",
            text_lang=text_lang or DEFAULT_LANGUAGE,
            services=tuple(record["services"]),
            sources=tuple(source["url"] for source in record["source"] if source.get("url")),
            last_verified=date.fromisoformat(record["last_verified"]),
            score=score_value,
        )

    def explainers(self, lang: str = DEFAULT_LANGUAGE) -> list[Explainer]:
        """Every explainer, in the order of their ids (editors number them when it matters)."""
        lang = _check_lang(lang)
        rows = self._query("SELECT doc FROM explainers ORDER BY id")
        return [self._explainer(row[0], lang) for row in rows]

    def explainer(self, explainer_id: str, lang: str = DEFAULT_LANGUAGE) -> Explainer | None:
        lang = _check_lang(lang)
        rows = self._query("SELECT doc FROM explainers WHERE id = ?", (explainer_id,))
        return self._explainer(rows[0][0], lang) if rows else None

    def explain(
        self, text: str, lang: str = DEFAULT_LANGUAGE, threshold: float = EXPLAIN_THRESHOLD
    ) -> Explainer | None:
        """The explainer that best matches ``text``, or None when none matches well enough."""
        lang = _check_lang(lang)
        key_words = self._key_words(Query.from_message(text))
        if not key_words:
            return None
        keys = list(key_words)
        marks = ",".join("?" * len(keys))
        rows = self._query(
            f"SELECT explainer_id, key, weight, label FROM explainer_terms WHERE key IN ({marks})",
            keys,
        )
        scores = text_matches(rows, key_words)
        if not scores:
            return None
        best_id, best = max(scores.items(), key=lambda item: (item[1].score, item[0]))
        if best.score < threshold:
            return None
        found = self._query("SELECT doc FROM explainers WHERE id = ?", (best_id,))
        return self._explainer(found[0][0], lang, best.score)

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
            "explainers": int(values.get("explainers") or 0),
            "oldest_verified": date.fromisoformat(oldest) if oldest else None,
        }

    def close(self) -> None:
        with self._lock:
            self._db.close()
