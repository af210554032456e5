"""Build the SQLite database the bot reads, atomically.

The database is written to a temporary file next to the target and moved over it with
``os.replace`` only when it is complete. A map with errors, or a crash halfway, therefore
leaves the previous database untouched, and a bot that has it open keeps reading its own
(now unlinked) copy until it reopens.

Tables follow Open Referral HSDS loosely (services, locations, phones) plus two ranking
tables: ``need_area`` answers "services for this need in this area" with one index range
scan, so the bot stays fast with tens of thousands of services.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from social_map.hours import BRUSSELS
from social_map.loader import load_map, map_files
from social_map.problems import Problem
from social_map.ranking import build_terms
from social_map.resolve import hours_for, service_areas
from social_map.schema import CITY_WIDE, LANGUAGES, Record
from social_map.text import fold, sort_key
from social_map.validators import phone_e164

SCHEMA_VERSION = "2"
FTS_TOKENIZER = "unicode61 remove_diacritics 2"
FTS_COLUMNS = tuple(f"{kind}_{lang}" for kind in ("name", "description") for lang in LANGUAGES)


@dataclass
class BuildResult:
    path: Path
    built: bool
    problems: list[Problem] = field(default_factory=list)
    count: int = 0
    version: str | None = None
    check_seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def map_version(data: Path) -> str:
    """A short hash of the map files (names and contents): which edit a database comes from."""
    digest = hashlib.sha256()
    root = data if data.is_dir() else data.parent
    for path in map_files(data):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def _service_row(record: Record) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": record["id"],
        "type": record["type"],
        "sort_key": sort_key(record["name"]["nl"]),
    }
    for kind in ("name", "description"):
        for lang in LANGUAGES:
            row[f"{kind}_{lang}"] = record[kind].get(lang)
    row.update(
        {
            "needs": json.dumps(record["needs"]),
            "areas": json.dumps(record["areas"]),
            "url": record["url"],
            "email": record["email"],
            "whatsapp": record["whatsapp"],
            "languages": json.dumps(record["languages"]),
            "cost": record["cost"],
            "application_process": json.dumps(record["application_process"]),
            "minimum_age": record["minimum_age"],
            "maximum_age": record["maximum_age"],
            "keywords": json.dumps(record["keywords"], ensure_ascii=False),
            "end_date": record["end_date"],
            "replaced_by": record["replaced_by"],
            "opening_hours": record["opening_hours"],
            "default_hours": hours_for(record, None),
            "texts": json.dumps(
                {
                    key: record[key]
                    for key in (
                        "fees_description",
                        "eligibility_description",
                        "application_description",
                        "opening_hours_note",
                    )
                },
                ensure_ascii=False,
            ),
            "source": json.dumps(record["source"], ensure_ascii=False),
            "last_verified": record["last_verified"],
            "file": record["file"],
            "doc": json.dumps(record, ensure_ascii=False, separators=(",", ":")),
        }
    )
    return row


def _rows(services: list[Record], explainers: list[Record]) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "services",
            "service_needs",
            "service_areas",
            "need_area",
            "locations",
            "phones",
            "sources",
            "services_fts",
            "terms",
            "explainers",
            "explainer_terms",
            "vocabulary",
        )
    }
    for record in services:
        service_id, key = record["id"], sort_key(record["name"]["nl"])
        tables["services"].append(_service_row(record))
        for rank, need in enumerate(record["needs"]):
            tables["service_needs"].append(
                {
                    "service_id": service_id,
                    "need": need,
                    "rank": rank,
                    "secondary": int(rank > 0),
                    "sort_key": key,
                    "end_date": record["end_date"],
                }
            )
        located = {loc["area"] for loc in record["locations"]}
        for area in sorted(service_areas(record)):
            tables["service_areas"].append(
                {
                    "service_id": service_id,
                    "area": area,
                    "serves": int(area in record["areas"]),
                    "located": int(area in located),
                }
            )
            hours = hours_for(record, None if area == CITY_WIDE else area)
            for rank, need in enumerate(record["needs"]):
                tables["need_area"].append(
                    {
                        "need": need,
                        "area": area,
                        "secondary": int(rank > 0),
                        "sort_key": key,
                        "service_id": service_id,
                        "hours": hours,
                        "end_date": record["end_date"],
                    }
                )
        for position, location in enumerate(record["locations"]):
            tables["locations"].append(
                {
                    "service_id": service_id,
                    "position": position,
                    **location,
                    "name": json.dumps(location["name"], ensure_ascii=False),
                }
            )
        for position, phone in enumerate(record["phones"]):
            tables["phones"].append(
                {
                    "service_id": service_id,
                    "position": position,
                    "number": phone["number"],
                    "e164": phone_e164(phone["number"]),
                    "description": json.dumps(phone["description"], ensure_ascii=False),
                }
            )
        for position, source in enumerate(record["source"]):
            tables["sources"].append({"service_id": service_id, "position": position, **source})
        # Keywords go into the full-text table too, so `map search` finds "schimmel".
        tables["services_fts"].append(
            {
                "service_id": service_id,
                **{
                    f"{kind}_{lang}": fold(record[kind].get(lang) or "")
                    for kind in ("name", "description")
                    for lang in LANGUAGES
                },
                "keywords": fold(
                    " ".join(word for words in record["keywords"].values() for word in words)
                ),
            }
        )
    service_terms, explainer_terms = build_terms(services, explainers)
    tables["terms"] = service_terms
    tables["explainer_terms"] = explainer_terms
    rows_per_key: Counter[str] = Counter(str(row["key"]) for row in service_terms)
    rows_per_key.update(str(row["key"]) for row in explainer_terms)
    tables["vocabulary"] = [{"key": key, "rows": rows} for key, rows in rows_per_key.items()]
    for explainer in explainers:
        tables["explainers"].append(
            {
                "id": explainer["id"],
                "doc": json.dumps(explainer, ensure_ascii=False, separators=(",", ":")),
            }
        )
    return tables


def _create_tables(db: sqlite_utils.Database) -> None:
    db["services"].create(
        {
            "id": str,
            "type": str,
            "sort_key": str,
            **{column: str for column in FTS_COLUMNS},
            "needs": str,
            "areas": str,
            "url": str,
            "email": str,
            "whatsapp": str,
            "languages": str,
            "cost": str,
            "application_process": str,
            "minimum_age": int,
            "maximum_age": int,
            "keywords": str,
            "end_date": str,
            "replaced_by": str,
            "opening_hours": str,
            "default_hours": str,
            "texts": str,
            "source": str,
            "last_verified": str,
            "file": str,
            "doc": str,
        },
        pk="id",
    )
    db["service_needs"].create(
        {
            "service_id": str,
            "need": str,
            "rank": int,
            "secondary": int,
            "sort_key": str,
            "end_date": str,
        },
        pk=("service_id", "need"),
        foreign_keys=[("service_id", "services", "id")],
    )
    db["service_areas"].create(
        {"service_id": str, "area": str, "serves": int, "located": int},
        pk=("service_id", "area"),
        foreign_keys=[("service_id", "services", "id")],
    )
    db["need_area"].create(
        {
            "need": str,
            "area": str,
            "secondary": int,
            "sort_key": str,
            "service_id": str,
            "hours": str,
            "end_date": str,
        },
        pk=("need", "area", "service_id"),
    )
    # One row per (need of a service, matching key): a parent's words against one need is a
    # handful of index lookups (see social_map.ranking).
    # Clustered by (need, key): the rows one word of one message needs lie together on disk.
    db.execute(
        "CREATE TABLE terms (need TEXT, key TEXT, service_id TEXT, weight FLOAT, label TEXT, "
        "end_date TEXT, PRIMARY KEY (need, key, service_id)) WITHOUT ROWID"
    )
    db["explainers"].create({"id": str, "doc": str}, pk="id")
    # Every key of the map with its number of rows: loaded once per opened map to match a
    # message's words (prefixes, compounds) without scanning the terms table.
    db.execute("CREATE TABLE vocabulary (key TEXT PRIMARY KEY, rows INTEGER) WITHOUT ROWID")
    db.execute(
        "CREATE TABLE explainer_terms (key TEXT, explainer_id TEXT, weight FLOAT, label TEXT, "
        "PRIMARY KEY (key, explainer_id)) WITHOUT ROWID"
    )
    db["locations"].create(
        {
            "service_id": str,
            "position": int,
            "name": str,
            "address_1": str,
            "postal_code": str,
            "city": str,
            "area": str,
            "latitude": float,
            "longitude": float,
            "opening_hours": str,
        },
        pk=("service_id", "position"),
        foreign_keys=[("service_id", "services", "id")],
    )
    db["phones"].create(
        {"service_id": str, "position": int, "number": str, "e164": str, "description": str},
        pk=("service_id", "position"),
        foreign_keys=[("service_id", "services", "id")],
    )
    db["sources"].create(
        {"service_id": str, "position": int, "url": str, "document": str, "date": str, "note": str},
        pk=("service_id", "position"),
        foreign_keys=[("service_id", "services", "id")],
    )
    db["meta"].create({"key": str, "value": str}, pk="key")
    columns = ", ".join(FTS_COLUMNS)
    db.execute(
        f"CREATE VIRTUAL TABLE services_fts USING fts5(service_id UNINDEXED, {columns}, "
        f"keywords, tokenize = '{FTS_TOKENIZER}')"
    )
    # Names weigh ten times more than descriptions, keywords five times; "ORDER BY rank"
    # then uses these weights.
    db.execute(
        "INSERT INTO services_fts (services_fts, rank) VALUES "
        "('rank', 'bm25(0, 10, 10, 10, 10, 1, 1, 1, 1, 5)')"
    )


def _create_indexes(db: sqlite_utils.Database) -> None:
    # Covering the ORDER BY of the three ranking tiers in store.SocialMap.find.
    db["need_area"].create_index(["need", "area", "secondary", "sort_key", "service_id"])
    db["service_needs"].create_index(["need", "secondary", "sort_key", "service_id"])
    db["locations"].create_index(["area"])


def write_database(
    path: Path,
    services: list[Record],
    version: str,
    built_at: datetime | None = None,
    explainers: list[Record] | None = None,
) -> None:
    """Write a complete map database to ``path`` (which must not be in use)."""
    db = sqlite_utils.Database(path)
    try:
        db.execute("PRAGMA journal_mode = OFF")  # a temporary file: a crash just discards it
        db.execute("PRAGMA synchronous = OFF")
        _create_tables(db)
        with db.conn:
            for table, rows in _rows(services, explainers or []).items():
                _insert(db, table, rows)
            verified = [s["last_verified"] for s in services if s["last_verified"]]
            db["meta"].insert_all(
                [
                    {"key": "schema_version", "value": SCHEMA_VERSION},
                    {
                        "key": "built_at",
                        "value": (built_at or datetime.now(BRUSSELS)).isoformat(timespec="seconds"),
                    },
                    {"key": "version", "value": version},
                    {"key": "count", "value": str(len(services))},
                    {"key": "explainers", "value": str(len(explainers or []))},
                    {"key": "oldest_verified", "value": min(verified) if verified else None},
                ]
            )
        _create_indexes(db)
        db.execute("ANALYZE")
    finally:
        db.close()


def _insert(db: sqlite_utils.Database, table: str, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if not rows:
        return
    if table == "services_fts":
        columns = list(rows[0])
        placeholders = ", ".join("?" for _ in columns)
        db.conn.executemany(
            f"INSERT INTO services_fts ({', '.join(columns)}) VALUES ({placeholders})",
            [tuple(row[c] for c in columns) for row in rows],
        )
        return
    db[table].insert_all(rows, batch_size=2000)


def build_map(
    data: Path,
    out: Path,
    *,
    today: date | None = None,
    workers: int | None = None,
    built_at: datetime | None = None,
) -> BuildResult:
    """Check ``data``; when there is no error, replace ``out`` with a freshly built database."""
    started = time.perf_counter()
    loaded = load_map(data, today=today, workers=workers)
    check_seconds = time.perf_counter() - started
    if not loaded.ok:
        return BuildResult(out, built=False, problems=loaded.problems, check_seconds=check_seconds)
    version = map_version(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        write_database(temp, loaded.services, version, built_at, loaded.explainers)
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return BuildResult(
        out,
        built=True,
        problems=loaded.problems,
        count=len(loaded.services),
        version=version,
        check_seconds=check_seconds,
        write_seconds=time.perf_counter() - started - check_seconds,
    )
