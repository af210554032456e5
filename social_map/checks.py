"""Check one parsed map file: every field, with the line of every problem.

``_FileChecker`` walks the YAML document (ruamel round-trip nodes carry ``.lc`` line info),
collects ``Problem``s in plain English and builds the normalised record. It knows nothing about
files on disk or other files: ``loader`` does that (reading, duplicate ids, parallelism).
"""

from __future__ import annotations

import difflib
import math
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from social_map.hours import check_expression
from social_map.problems import Problem
from social_map.schema import (
    APPLICATION_PROCESSES,
    AREAS,
    CITY_WIDE,
    COSTS,
    EXPLAINER_FIELDS,
    LANGUAGES,
    LOCATION_FIELDS,
    MAX_KEYWORD_LENGTH,
    NEEDS,
    PHONE_FIELDS,
    REQUIRED_EXPLAINER_FIELDS,
    REQUIRED_SERVICE_FIELDS,
    SERVICE_FIELDS,
    SERVICE_TYPES,
    SOURCE_FIELDS,
    STALE_AFTER_MONTHS,
    Record,
)
from social_map.validators import (
    check_email,
    check_language_code,
    check_phone,
    check_slug,
    check_url,
    parse_date,
    suggest,
)

LEUVEN = (50.8798, 4.7005)
NEAR_LEUVEN_KM = 25

_REQUIRED_HINTS = {
    "id": "the file name without .yml",
    "name": "the name of the organisation, at least in Dutch (nl:)",
    "description": "one plain line saying what it does, at least in Dutch (nl:)",
    "needs": "what parents can come for, like [food, money]",
    "areas": "where it works, like [heverlee] or [leuven] for the whole city",
    "source": "where this information comes from (a web address)",
    "last_verified": "the day a person last checked this entry, like 2026-11-21",
    "title": "a short title per language, at least in Dutch (nl:)",
    "text": "the short explanation per language, at least in Dutch (nl:)",
    "keywords": "words parents use for this, per language, like  nl: [inschrijven, aanmelden]",
}
_SYNONYMS = {
    "website": "url",
    "web": "url",
    "site": "url",
    "phone": "phones",
    "telephone": "phones",
    "tel": "phones",
    "mail": "email",
    "e-mail": "email",
    "need": "needs",
    "area": "areas",
    "hours": "opening_hours",
    "openingsuren": "opening_hours",
    "address": "address_1",
    "adres": "address_1",
    "street": "address_1",
    "postcode": "postal_code",
    "zip": "postal_code",
    "lat": "latitude",
    "lon": "longitude",
    "lng": "longitude",
    "sources": "source",
    "location": "locations",
    "language": "languages",
    "verified": "last_verified",
    "keyword": "keywords",
    "trefwoorden": "keywords",
    "tags": "keywords",
    "end": "end_date",
    "ends": "end_date",
    "ended": "end_date",
    "einddatum": "end_date",
    "until": "end_date",
    "replaced": "replaced_by",
    "successor": "replaced_by",
}


# --- line numbers -------------------------------------------------------------------------------


def _node_line(node: Any) -> int:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else 1


def _key_line(node: CommentedMap, key: str) -> int:
    try:
        return node.lc.key(key)[0] + 1
    except (KeyError, TypeError, AttributeError):
        return _node_line(node)


def _value_line(node: CommentedMap, key: str) -> int:
    try:
        return node.lc.value(key)[0] + 1
    except (KeyError, TypeError, AttributeError):
        return _key_line(node, key)


def _item_line(seq: CommentedSeq, index: int) -> int:
    try:
        return seq.lc.item(index)[0] + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        return _node_line(seq)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _months_ago(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    for candidate_day in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, candidate_day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


# --- one file -----------------------------------------------------------------------------------


class FileChecker:
    """Walks one parsed file, collecting problems and building the record."""

    def __init__(self, display: str, stem: str, today: date) -> None:
        self.display = display
        self.stem = stem
        self.today = today
        self.problems: list[Problem] = []
        self.service_id: str | None = None
        self.id_line = 1

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.display, line, "error", message))

    def warning(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.display, line, "warning", message))

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)

    # generic shapes

    def unknown_fields(self, node: CommentedMap, allowed: tuple[str, ...], where: str) -> None:
        for key in node:
            if key in allowed:
                continue
            name = str(key)
            meant = _SYNONYMS.get(name.lower())
            if allowed is SERVICE_FIELDS and (meant or name) not in SERVICE_FIELDS:
                in_location = meant if meant in LOCATION_FIELDS else None
                in_location = in_location or next(
                    iter(difflib.get_close_matches(name, LOCATION_FIELDS, n=1, cutoff=0.75)),
                    None,
                )
                if in_location:
                    self.error(
                        _key_line(node, key),
                        f'unknown field "{key}": an address belongs in a location, under '
                        f'"locations:" as "{in_location}"',
                    )
                    continue
            hint = f' (did you mean "{meant}"?)' if meant in allowed else suggest(name, allowed)
            self.error(_key_line(node, key), f'unknown field "{key}"{where}{hint}')

    def text(self, node: CommentedMap, key: str, label: str | None = None) -> str | None:
        """An optional single text value."""
        if key not in node or node[key] is None:
            return None
        value = node[key]
        if isinstance(value, str) and value.strip():
            return str(value).strip()
        self.error(_value_line(node, key), f'"{label or key}" must be a text, not empty')
        return None

    def texts(self, node: CommentedMap, key: str, *, nl_required: bool) -> dict[str, str]:
        """A text per language: ``{nl: ..., fr: ...}``."""
        if key not in node or node[key] is None:
            return {}
        value = node[key]
        line = _value_line(node, key)
        if isinstance(value, str):
            self.error(
                line, f'"{key}" needs a text per language on its own line, like "  nl: {value}"'
            )
            return {}
        if not isinstance(value, CommentedMap):
            self.error(line, f'"{key}" needs a text per language, like "  nl: ..."')
            return {}
        result: dict[str, str] = {}
        for lang, text in value.items():
            lang_line = _key_line(value, lang)
            if lang not in LANGUAGES:
                self.error(
                    lang_line,
                    f'unknown language "{lang}" in "{key}"{suggest(str(lang), LANGUAGES)}; '
                    "use nl, fr, en or ar",
                )
            elif not isinstance(text, str) or not text.strip():
                self.error(lang_line, f'the {lang} text of "{key}" is empty')
            else:
                result[str(lang)] = str(text).strip()
        if nl_required and "nl" not in value:
            self.error(
                _key_line(node, key),
                f'"{key}" has no Dutch text (nl:); Dutch is required, '
                "the other languages fall back to it",
            )
        return result

    def seq(self, node: CommentedMap, key: str, example: str) -> CommentedSeq | None:
        if key not in node or node[key] is None:
            return None
        value = node[key]
        if isinstance(value, CommentedSeq):
            return value
        self.error(_value_line(node, key), f'"{key}" must be a list, like {example}')
        return None

    def id_list(
        self, node: CommentedMap, key: str, allowed: tuple[str, ...], label: str, example: str
    ) -> list[str]:
        items = self.seq(node, key, example)
        if items is None:
            return []
        if not items:
            self.error(
                _value_line(node, key), f'"{key}" is empty; give at least one, like {example}'
            )
        result: list[str] = []
        for index, item in enumerate(items):
            line = _item_line(items, index)
            if not isinstance(item, str):
                self.error(line, f'{label} "{item}" must be a word, like {example}')
            elif item not in allowed:
                hint = suggest(item, allowed) or f"; choose from: {', '.join(allowed)}"
                self.error(line, f'unknown {label} "{item}"{hint}')
            elif item in result:
                self.error(line, f'{label} "{item}" is listed twice')
            else:
                result.append(str(item))
        return result

    def enum(self, node: CommentedMap, key: str, allowed: tuple[str, ...]) -> str | None:
        if key not in node or node[key] is None:
            return None
        value = node[key]
        if isinstance(value, str) and value in allowed:
            return str(value)
        hint = suggest(str(value), allowed)
        self.error(
            _value_line(node, key),
            f'"{key}" cannot be "{value}"{hint}; choose one of: {", ".join(allowed)}',
        )
        return None

    def date_value(self, node: CommentedMap, key: str, what: str) -> date | None:
        value = node[key]
        line = _value_line(node, key)
        day = parse_date(value)
        if day is None:
            self.error(
                line, f'{what} "{value}" is not a date; write it as year-month-day, like 2026-11-21'
            )
            return None
        if day > self.today:
            self.error(line, f"{what} {day.isoformat()} is in the future")
            return None
        return day

    def hours(self, node: CommentedMap, key: str) -> str | None:
        if key not in node or node[key] is None:
            return None
        message = check_expression(node[key])
        if message:
            self.error(_value_line(node, key), message)
            return None
        return str(node[key]).strip()

    def phone(self, line: int, number: object, *, allow_short: bool, what: str) -> str | None:
        if not isinstance(number, str):
            self.error(
                line,
                f'write the {what} in quotes, like "016 24 80 11" (without quotes a leading 0 '
                "is lost)",
            )
            return None
        message = check_phone(str(number), allow_short=allow_short)
        if message:
            self.error(line, message)
            return None
        return str(number).strip()

    # sections

    def check_id(self, doc: CommentedMap) -> str | None:
        if "id" not in doc:
            return None
        value, line = doc["id"], _value_line(doc, "id")
        self.id_line = line
        if not isinstance(value, str):
            self.error(line, f'id "{value}" must be a word like "ocmw-leuven"')
            return None
        self.service_id = str(value)
        message = check_slug(value)
        if message:
            self.error(line, message)
        elif value != self.stem:
            self.error(
                line,
                f'id "{value}" must be the same as the file name ("{self.stem}.yml"); '
                f'rename the file to "{value}.yml" or change the id',
            )
        return str(value)

    def check_phones(self, doc: CommentedMap, allow_short: bool) -> list[dict[str, Any]]:
        items = self.seq(doc, "phones", '[{number: "016 24 80 11"}]')
        result: list[dict[str, Any]] = []
        for index, item in enumerate(items or []):
            line = _item_line(items, index)
            if not isinstance(item, CommentedMap):
                self.error(line, 'each phone needs "number:", like  - number: "016 24 80 11"')
                continue
            self.unknown_fields(item, PHONE_FIELDS, " in a phone")
            if "number" not in item:
                self.error(line, 'this phone has no "number:"')
                continue
            number = self.phone(
                _value_line(item, "number"), item["number"], allow_short=allow_short, what="number"
            )
            description = self.texts(item, "description", nl_required=False)
            if number:
                result.append({"number": number, "description": description})
        return result

    def check_languages(self, doc: CommentedMap) -> list[str]:
        items = self.seq(doc, "languages", "[nl, fr, ar]")
        result: list[str] = []
        for index, code in enumerate(items or []):
            message = check_language_code(str(code)) if isinstance(code, str) else None
            if not isinstance(code, str) or message:
                self.error(_item_line(items, index), message or f'"{code}" is not a language code')
            elif code not in result:
                result.append(str(code))
        return result

    def check_ages(self, doc: CommentedMap) -> tuple[int | None, int | None]:
        ages: list[int | None] = []
        for key in ("minimum_age", "maximum_age"):
            value = doc.get(key)
            if value is None:
                ages.append(None)
            elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 120:
                ages.append(int(value))
            else:
                self.error(_value_line(doc, key), f'"{key}" must be a whole number of years')
                ages.append(None)
        low, high = ages
        if low is not None and high is not None and low > high:
            self.error(
                _value_line(doc, "maximum_age"),
                f"maximum_age {high} is lower than minimum_age {low}",
            )
        return low, high

    def check_coordinates(self, node: CommentedMap) -> tuple[float | None, float | None]:
        has_lat, has_lon = "latitude" in node, "longitude" in node
        if has_lat != has_lon:
            given, missing = ("latitude", "longitude") if has_lat else ("longitude", "latitude")
            self.error(_key_line(node, given), f"{given} is given without {missing}: give both")
            return None, None
        if not has_lat:
            return None, None
        lat, lon = node["latitude"], node["longitude"]
        bad = False
        for key, value, limit in (("latitude", lat, 90), ("longitude", lon, 180)):
            if not _is_number(value) or not -limit <= value <= limit:
                self.error(
                    _value_line(node, key),
                    f'{key} "{value}" must be a number between -{limit} and {limit}, '
                    f"like {LEUVEN[0] if key == 'latitude' else LEUVEN[1]}",
                )
                bad = True
        if bad:
            return None, None
        distance = _distance_km(LEUVEN, (float(lat), float(lon)))
        if distance > NEAR_LEUVEN_KM:
            self.warning(
                _value_line(node, "latitude"),
                f"this point is {distance:.0f} km from Leuven: are latitude and longitude "
                "swapped? (Leuven is about latitude 50.88, longitude 4.70)",
            )
        return float(lat), float(lon)

    def check_location(self, item: CommentedMap, line: int) -> dict[str, Any] | None:
        self.unknown_fields(item, LOCATION_FIELDS, " in a location")
        area = item.get("area")
        if "area" not in item:
            self.error(line, 'this location has no "area:" (like heverlee or kessel-lo)')
        elif area == CITY_WIDE:
            self.error(
                _value_line(item, "area"),
                f"a location needs its own area (one of {', '.join(AREAS)}); "
                f'"{CITY_WIDE}" is only for "areas:"',
            )
            area = None
        elif not isinstance(area, str) or area not in AREAS:
            hint = suggest(str(area), AREAS) or f"; choose from: {', '.join(AREAS)}"
            self.error(_value_line(item, "area"), f'unknown area "{area}"{hint}')
            area = None
        postal_code = item.get("postal_code")
        if postal_code is not None:
            postal_code = str(postal_code).strip()
            line_pc = _value_line(item, "postal_code")
            if postal_code not in AREAS.values():
                self.error(
                    line_pc,
                    f'postcode "{postal_code}" is not a Leuven postcode '
                    f"({', '.join(AREAS.values())})",
                )
            elif area and AREAS[area] != postal_code:
                self.error(
                    line_pc,
                    f'postcode {postal_code} does not match area "{area}" (postcode {AREAS[area]})',
                )
        latitude, longitude = self.check_coordinates(item)
        return {
            "name": self.texts(item, "name", nl_required=False),
            "address_1": self.text(item, "address_1"),
            "postal_code": postal_code,
            "city": self.text(item, "city"),
            "area": area,
            "latitude": latitude,
            "longitude": longitude,
            "opening_hours": self.hours(item, "opening_hours"),
        }

    def check_locations(self, doc: CommentedMap) -> list[dict[str, Any]]:
        items = self.seq(doc, "locations", "- area: heverlee")
        result = []
        for index, item in enumerate(items or []):
            line = _item_line(items, index)
            if not isinstance(item, CommentedMap):
                self.error(line, "each location needs fields like area:, address_1:")
                continue
            location = self.check_location(item, line)
            if location:
                result.append(location)
        return result

    def check_sources(self, doc: CommentedMap) -> list[dict[str, Any]]:
        items = self.seq(doc, "source", "- url: https://...")
        if items is not None and not items:
            self.error(_key_line(doc, "source"), "give at least one source (- url: https://...)")
        result = []
        for index, item in enumerate(items or []):
            line = _item_line(items, index)
            if not isinstance(item, CommentedMap):
                self.error(line, 'each source needs "url:", like  - url: https://www.leuven.be')
                continue
            self.unknown_fields(item, SOURCE_FIELDS, " in a source")
            url = self.text(item, "url")
            document = self.text(item, "document")
            if "url" not in item and "document" not in item:
                self.error(
                    line,
                    'this source has no "url:" (or, for a report without a web address, '
                    '"document:" with its title and publisher)',
                )
            elif url and (message := check_url(url)):
                self.error(_value_line(item, "url"), message)
            day = None
            if item.get("date") is not None:
                day = self.date_value(item, "date", "source date")
            result.append(
                {
                    "url": url,
                    "document": document,
                    "date": day.isoformat() if day else None,
                    "note": self.text(item, "note"),
                }
            )
        return result

    def check_last_verified(self, doc: CommentedMap) -> date | None:
        if "last_verified" not in doc:
            return None
        day = self.date_value(doc, "last_verified", "last_verified")
        if day and day < _months_ago(self.today, STALE_AFTER_MONTHS):
            self.warning(
                _value_line(doc, "last_verified"),
                f"last checked on {day.isoformat()}, more than {STALE_AFTER_MONTHS} months ago: "
                "check this entry against its sources and update last_verified",
            )
        return day

    def keywords(self, node: CommentedMap, key: str = "keywords") -> dict[str, list[str]]:
        """Words parents use, per language: ``{nl: [schimmel, vocht], ar: [رطوبة, rtouba]}``."""
        if key not in node or node[key] is None:
            return {}
        value = node[key]
        example = "  nl: [schimmel, vochtig]"
        if not isinstance(value, CommentedMap):
            self.error(
                _value_line(node, key),
                f'"{key}" needs a list of words per language, on its own line, like "{example}"',
            )
            return {}
        result: dict[str, list[str]] = {}
        for lang, items in value.items():
            lang_line = _key_line(value, lang)
            if lang not in LANGUAGES:
                self.error(
                    lang_line,
                    f'unknown language "{lang}" in "{key}"{suggest(str(lang), LANGUAGES)}; '
                    "use nl, fr, en or ar (Darija in Latin letters goes under ar too)",
                )
                continue
            if isinstance(items, str):
                items = [part for part in items.split(",")]
            elif not isinstance(items, CommentedSeq):
                self.error(lang_line, f'the {lang} "{key}" must be a list, like [a, b]')
                continue
            words: list[str] = []
            for index, item in enumerate(items):
                line = _item_line(items, index) if isinstance(items, CommentedSeq) else lang_line
                text = str(item).strip() if isinstance(item, str | int) else ""
                if not text:
                    self.error(line, f'an empty word in the {lang} "{key}"')
                elif len(text) > MAX_KEYWORD_LENGTH:
                    self.error(
                        line,
                        f'"{text[:30]}..." is too long for a keyword (at most '
                        f"{MAX_KEYWORD_LENGTH} characters): use a few words, not a sentence",
                    )
                elif text.casefold() in (w.casefold() for w in words):
                    self.warning(line, f'"{text}" is listed twice in the {lang} "{key}"')
                else:
                    words.append(text)
            if words:
                result[str(lang)] = words
        return result

    def end_date(self, doc: CommentedMap) -> date | None:
        if doc.get("end_date") is None:
            return None
        value = doc["end_date"]
        day = parse_date(value)
        if day is None:
            self.error(
                _value_line(doc, "end_date"),
                f'end_date "{value}" is not a date; write it as year-month-day, like 2025-06-30',
            )
        return day

    def reference(self, doc: CommentedMap, key: str) -> str | None:
        if doc.get(key) is None:
            return None
        value = doc[key]
        message = check_slug(value) if isinstance(value, str) else "it must be an id"
        if message:
            self.error(
                _value_line(doc, key), f'"{key}" must be the id of another entry ({message})'
            )
            return None
        return str(value)

    def reachable(self, record: Record) -> None:
        """A service parents cannot phone or find is a dead end: tell the editor."""
        if record["type"] == "helpline" or record["end_date"]:
            return
        has_address = any(location["address_1"] for location in record["locations"])
        if not record["phones"] and not has_address:
            self.warning(
                self.id_line,
                "neither a phone number nor an address: parents cannot reach this service; "
                "add one when a source gives it",
            )

    def check_contact(self, doc: CommentedMap, service_type: str) -> dict[str, Any]:
        url = self.text(doc, "url")
        if url and (message := check_url(url)):
            self.error(_value_line(doc, "url"), message)
        email = self.text(doc, "email")
        if email and (message := check_email(email)):
            self.error(_value_line(doc, "email"), message)
        whatsapp = None
        if doc.get("whatsapp") is not None:
            whatsapp = self.phone(
                _value_line(doc, "whatsapp"), doc["whatsapp"], allow_short=False, what="number"
            )
        return {
            "url": url,
            "email": email,
            "whatsapp": whatsapp,
            "phones": self.check_phones(doc, allow_short=service_type == "helpline"),
        }

    def check(self, doc: Any) -> Record | None:
        if doc is None:
            self.error(1, "the file is empty")
            return None
        if not isinstance(doc, CommentedMap):
            self.error(
                _node_line(doc),
                'the file must contain fields like "id: ...", "name: ..." (one organisation '
                "per file), not a list",
            )
            return None
        self.unknown_fields(doc, SERVICE_FIELDS, "")
        for key in REQUIRED_SERVICE_FIELDS:
            if key not in doc or doc[key] is None:
                line = _key_line(doc, key) if key in doc else _node_line(doc)
                self.error(line, f'missing required field "{key}": {_REQUIRED_HINTS[key]}')
        service_id = self.check_id(doc)
        service_type = self.enum(doc, "type", SERVICE_TYPES) or "service"
        description = self.texts(doc, "description", nl_required=True)
        for lang, text in description.items():
            if "\n" in text:
                self.warning(
                    _key_line(doc["description"], lang),
                    f"the {lang} description should be one short line",
                )
        low, high = self.check_ages(doc)
        last_verified = self.check_last_verified(doc)
        application = self.id_list(
            doc, "application_process", APPLICATION_PROCESSES, "application process", "[walk_in]"
        )
        record: Record = {
            "id": service_id,
            "type": service_type,
            "name": self.texts(doc, "name", nl_required=True),
            "description": description,
            "needs": self.id_list(doc, "needs", NEEDS, "need", "[food]"),
            "areas": self.id_list(doc, "areas", (*AREAS, CITY_WIDE), "area", "[heverlee]"),
            "keywords": self.keywords(doc),
            "end_date": end.isoformat() if (end := self.end_date(doc)) else None,
            "replaced_by": self.reference(doc, "replaced_by"),
            **self.check_contact(doc, service_type),
            "languages": self.check_languages(doc),
            "cost": self.enum(doc, "cost", COSTS),
            "fees_description": self.texts(doc, "fees_description", nl_required=False),
            "eligibility_description": self.texts(
                doc, "eligibility_description", nl_required=False
            ),
            "minimum_age": low,
            "maximum_age": high,
            "application_process": application,
            "application_description": self.texts(
                doc, "application_description", nl_required=False
            ),
            "opening_hours": self.hours(doc, "opening_hours"),
            "opening_hours_note": self.texts(doc, "opening_hours_note", nl_required=False),
            "locations": self.check_locations(doc),
            "source": self.check_sources(doc),
            "last_verified": last_verified.isoformat() if last_verified else None,
            "file": self.display,
        }
        if record["replaced_by"] == service_id and service_id:
            self.error(_value_line(doc, "replaced_by"), "an entry cannot replace itself")
        if not self.has_errors:
            self.reachable(record)
        return None if self.has_errors else record

    def check_explainer(self, doc: Any) -> Record | None:
        """An explainer: a short answer to "how does ... work?", with its keywords."""
        if doc is None:
            self.error(1, "the file is empty")
            return None
        if not isinstance(doc, CommentedMap):
            self.error(_node_line(doc), 'an explainer needs fields like "id: ...", "title: ..."')
            return None
        self.unknown_fields(doc, EXPLAINER_FIELDS, "")
        for key in REQUIRED_EXPLAINER_FIELDS:
            if key not in doc or doc[key] is None:
                line = _key_line(doc, key) if key in doc else _node_line(doc)
                self.error(line, f'missing required field "{key}": {_REQUIRED_HINTS[key]}')
        explainer_id = self.check_id(doc)
        services = self.seq(doc, "services", "[clb-leuven, vclb-leuven]") or []
        refs: list[str] = []
        for index, item in enumerate(services):
            if isinstance(item, str) and not check_slug(item):
                refs.append(str(item))
            else:
                self.error(_item_line(services, index), f'"{item}" is not a service id')
        last_verified = self.check_last_verified(doc)
        record: Record = {
            "id": explainer_id,
            "title": self.texts(doc, "title", nl_required=True),
            "text": self.texts(doc, "text", nl_required=True),
            "keywords": self.keywords(doc),
            "services": refs,
            "source": self.check_sources(doc),
            "last_verified": last_verified.isoformat() if last_verified else None,
            "file": self.display,
        }
        return None if self.has_errors else record
