"""Building the database is atomic: a broken edit or a crash never replaces a working map."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from social_map.build import build_map, map_version
from social_map.hours import BRUSSELS
from social_map.store import SocialMap

GOOD = Path(__file__).parent / "fixtures" / "social_map" / "good"
TODAY = date(2026, 11, 21)
AT = datetime(2026, 11, 17, 14, 0, tzinfo=BRUSSELS)  # a Tuesday afternoon


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(GOOD, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_failed_build_keeps_the_old_database_in_use(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "var" / "social_map.db"
    assert build_map(data, db, today=TODAY).built
    before = db.read_bytes()
    reader = SocialMap.open(db)
    assert reader.find("food", "kessel-lo", at=AT)[0].id == "sociale-kruidenier"

    grocery = data / "sociale-kruidenier.yml"
    _edit(grocery, "needs: [food, material_help]", "needs: [fod, material_help]")
    _edit(data / "bib-heverlee.yml", "areas: [heverlee]", "areas: [heverle]")
    failed = build_map(data, db, today=TODAY)

    assert not failed.built
    assert [(Path(p.path).name, p.line) for p in failed.errors] == [
        ("bib-heverlee.yml", 8),
        ("sociale-kruidenier.yml", 11),
    ]
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["social_map.db"]  # no temp left
    assert reader.find("food", "kessel-lo", at=AT)[0].id == "sociale-kruidenier"
    with SocialMap.open(db) as fresh:
        assert fresh.find("food", at=AT)[0].name == "Sociale Kruidenier"
    reader.close()


def test_open_reader_keeps_working_while_the_map_is_replaced(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "social_map.db"
    first = build_map(data, db, today=TODAY)
    reader = SocialMap.open(db)
    assert reader.get("sociale-kruidenier").name == "Sociale Kruidenier"

    _edit(data / "sociale-kruidenier.yml", "nl: Sociale Kruidenier", "nl: Sociale Kruidenier Noord")
    second = build_map(data, db, today=TODAY)
    assert second.built and second.version != first.version

    # The reader still answers from the file it opened; a new reader sees the new map.
    assert reader.get("sociale-kruidenier").name == "Sociale Kruidenier"
    assert reader.find("food", at=AT)[0].id == "sociale-kruidenier"
    with SocialMap.open(db) as fresh:
        assert fresh.get("sociale-kruidenier").name == "Sociale Kruidenier Noord"
        assert fresh.meta()["version"] == second.version
    reader.close()


def test_crash_while_replacing_leaves_no_temporary_file(data: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "social_map.db"
    target.mkdir(parents=True)  # a folder where the file should go: os.replace fails
    with pytest.raises(OSError):
        build_map(data, target, today=TODAY)
    assert list(target.parent.iterdir()) == [target]


def test_meta_says_how_old_the_knowledge_is(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "social_map.db"
    built_at = datetime(2026, 11, 21, 9, 30, tzinfo=BRUSSELS)
    result = build_map(data, db, today=TODAY, built_at=built_at)
    assert result.count == 11 and result.version == map_version(data)
    assert len(result.problems) == 1  # the stale bib-heverlee warning does not stop a build
    with SocialMap.open(db) as social_map:
        assert social_map.meta() == {
            "built_at": built_at,
            "version": map_version(data),
            "count": 11,
            "explainers": 0,
            "oldest_verified": date(2025, 6, 1),
        }
    assert map_version(data) == map_version(GOOD)  # the version depends on content only
    _edit(data / "bib-heverlee.yml", "Boekenlaan 5", "Boekenlaan 7")
    assert map_version(data) != map_version(GOOD)


def test_tables_indexes_and_tokenizer(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "social_map.db"
    build_map(data, db, today=TODAY)
    connection = sqlite3.connect(db)
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {
        "services",
        "service_needs",
        "service_areas",
        "need_area",
        "locations",
        "phones",
        "sources",
        "meta",
        "services_fts",
    } <= tables
    fts_sql = connection.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'services_fts'"
    ).fetchone()[0]
    assert "unicode61 remove_diacritics 2" in fts_sql
    ranks = connection.execute(
        "SELECT need, rank, secondary FROM service_needs WHERE service_id = 'ocmw-test' "
        "ORDER BY rank"
    ).fetchall()
    assert ranks == [("money", 0, 0), ("school_costs", 1, 1), ("paperwork", 2, 1)]
    phones = connection.execute(
        "SELECT number, e164 FROM phones WHERE service_id = 'ocmw-test'"
    ).fetchall()
    assert phones == [("016 24 80 11", "+3216248011")]
    areas = connection.execute(
        "SELECT area, serves, located FROM service_areas WHERE service_id = 'ocmw-test' "
        "ORDER BY area"
    ).fetchall()
    assert areas == [("kessel-lo", 0, 1), ("leuven", 1, 0), ("leuven-centrum", 0, 1)]
    plan = " ".join(
        str(row[-1])
        for row in connection.execute(
            "EXPLAIN QUERY PLAN SELECT service_id FROM need_area WHERE need = 'food' "
            "AND area = 'heverlee' ORDER BY secondary, sort_key, service_id LIMIT 20"
        )
    )
    assert "COVERING INDEX" in plan and "TEMP B-TREE" not in plan
    connection.close()
