"""The state database on both engines: versioned migrations, an old database adopted with
nothing lost, and the state store's own behaviour on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from postgres import PostgresServer

from bot.cli import main
from bot.conversation.state import ChatState, StateStore
from bot.db import Row, mask_url, open_database
from bot.db.migrate import BASELINE, current, head
from bot.db.sql import to_pyformat
from bot.db.target import DatabaseConfigError, parse_target

FIXTURE = Path(__file__).parent / "fixtures" / "state_before_alembic.sql"
NOW = datetime.fromisoformat("2026-11-24T10:00:00+01:00")


def contents(where: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but Alembic's own and SQLite's counters), sorted."""
    db = open_database(where)
    try:
        return {
            table: sorted((tuple(row) for row in db.fetchall(f"SELECT * FROM {table}")), key=repr)
            for table in sorted(db.tables() - {"alembic_version", "sqlite_sequence"})
        }
    finally:
        db.close()


def columns(where: Path | str) -> dict[str, list[str]]:
    db = open_database(where)
    try:
        return {
            table: sorted(_names(db, table))
            for table in sorted(db.tables() - {"alembic_version", "sqlite_sequence"})
        }
    finally:
        db.close()


def _names(db: Any, table: str) -> list[str]:
    if db.engine == "sqlite":
        return [str(r[1]) for r in db.fetchall(f"PRAGMA table_info({table})")]
    return [
        str(r[0])
        for r in db.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", (table,)
        )
    ]


def old_database(path: Path) -> Path:
    """A state.db as made by Wegwijs before Alembic (main at bd9de98), with its rows."""
    db = sqlite3.connect(path)
    db.executescript(FIXTURE.read_text())
    db.close()
    return path


# -- migrations ---------------------------------------------------------------------------


def test_a_database_made_before_alembic_is_adopted_with_nothing_lost(tmp_path: Path) -> None:
    path = old_database(tmp_path / "state.db")
    before = contents(path)
    assert all(before.values()), "the fixture has rows in every table"
    state = StateStore(path, lambda: NOW)
    db, _ = state.connection
    assert current(db) == head()
    # A new row numbers on from the old ones (ids are never reused: the desk polls by id).
    newest = max(r[0] for r in before["desk_events"])
    event = db.insert(
        "INSERT INTO desk_events (at, kind) VALUES (?, 'notice') RETURNING id", (NOW.isoformat(),)
    )
    assert event > newest
    loaded = state.load("telegram:11")
    assert loaded is not None and loaded.consent is True and loaded.language == "ar"
    state.close()
    after = contents(path)
    after["desk_events"] = [r for r in after["desk_events"] if r[0] != event]
    # Later revisions add columns at the end (0002: the replicas'), and new tables.
    assert after["telegram_updates"][0][3] == ""  # its lane: the default
    assert after["claims"] == []
    old_part = {
        t: [r[: len(before[t][0])] for r in rows] for t, rows in after.items() if t in before
    }
    assert old_part == before
    StateStore(path).close()  # a second open changes nothing
    assert contents(path)["handoffs"] == before["handoffs"]


def test_the_baseline_has_exactly_the_columns_of_the_schema_it_replaces(tmp_path: Path) -> None:
    adopted = old_database(tmp_path / "old.db")
    StateStore(adopted).close()
    fresh = tmp_path / "new.db"
    StateStore(fresh).close()
    assert columns(fresh) == columns(adopted)


def test_upgrade_and_status_on_an_empty_postgresql(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.new_database(empty=True)
    runner = CliRunner()
    env = {"WEGWIJS_DATABASE_URL": url, "WEGWIJS_DATA_DIR": str(tmp_path)}
    try:
        behind = runner.invoke(main, ["db", "status"], env=env)
        assert behind.exit_code == 1 and "needs `wegwijs db upgrade`" in behind.output
        done = runner.invoke(main, ["db", "upgrade"], env=env)
        assert done.exit_code == 0, done.output
        assert f"new -> {head()}" in done.output
        status = runner.invoke(main, ["db", "status"], env=env)
        assert status.exit_code == 0, status.output
        assert "engine:   postgresql" in status.output and "up to date" in status.output
        again = runner.invoke(main, ["db", "upgrade"], env=env)
        assert f"already at {head()}" in again.output
        sqlite_file = tmp_path / "state.db"
        StateStore(sqlite_file).close()
        assert columns(url) == columns(sqlite_file)  # one schema, two engines
    finally:
        postgres_server.drop_database(url)


def test_status_never_shows_the_password(tmp_path: Path) -> None:
    url = "postgresql://wegwijs:s3cret-pass@127.0.0.1:1/wegwijs?password=other-secret"
    assert "s3cret" not in mask_url(url) and "other-secret" not in mask_url(url)
    assert mask_url(url).startswith("postgresql://wegwijs:***@127.0.0.1:1/wegwijs")
    assert "s3cret" not in repr(parse_target(url))
    result = CliRunner().invoke(main, ["db", "status"], env={"WEGWIJS_DATABASE_URL": url})
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "s3cret" not in result.output and "***" in result.output
    with pytest.raises(DatabaseConfigError, match="postgresql://"):
        parse_target("mysql://root@localhost/wegwijs")


def test_sqlite_status_in_a_fresh_data_directory(tmp_path: Path) -> None:
    env = {"WEGWIJS_DATA_DIR": str(tmp_path), "WEGWIJS_DATABASE_URL": ""}
    done = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert done.exit_code == 0 and f"new -> {head()}" in done.output
    status = CliRunner().invoke(main, ["db", "status"], env=env)
    assert "engine:   sqlite" in status.output and str(tmp_path / "state.db") in status.output
    assert head() >= BASELINE


# -- the portable SQL ---------------------------------------------------------------------


def test_placeholders_become_psycopgs_outside_quotes_only() -> None:
    assert to_pyformat("SELECT ? WHERE a LIKE '50%?' AND b = ?") == (
        "SELECT %s WHERE a LIKE '50%%?' AND b = %s"
    )
    assert to_pyformat("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"


def test_rows_read_by_position_and_by_name(state_db: Path | str) -> None:
    db = open_database(state_db)
    try:
        row = db.fetchone("SELECT 1 AS one, 'two' AS two")
        assert row is not None and row[0] == 1 and row["two"] == "two"
        assert list(row.keys()) == ["one", "two"] and tuple(row) == (1, "two")
        if not isinstance(row, sqlite3.Row):
            assert isinstance(row, Row)
    finally:
        db.close()


# -- the state store on both engines ------------------------------------------------------


def test_chat_state_round_trip_and_forget(state_db: Path | str) -> None:
    state = StateStore(state_db, lambda: NOW)
    try:
        state.save(ChatState("telegram:1", language="fr", area_asked=True, consent=False))
        state.save(ChatState("telegram:1", language="ar", greeted=True, failures=2))
        loaded = state.load("telegram:1")
        assert loaded == ChatState("telegram:1", language="ar", greeted=True, failures=2)
        assert state.language_of("telegram:1") == "ar"
        state.forget("telegram:1")
        assert state.load("telegram:1") is None
    finally:
        state.close()


def test_a_message_is_taken_in_once_and_counts_add_up(state_db: Path | str) -> None:
    state = StateStore(state_db, lambda: NOW)
    try:
        first = state.accept("telegram:1", '{"text": "100% sure?"}', "telegram", "m-1")
        assert first > 0
        assert state.accept("telegram:1", "again", "telegram", "m-1") == 0  # a re-delivery
        second = state.accept("telegram:1", "no id", "telegram", None)
        assert second > first
        assert state.unhandled() == [(first, '{"text": "100% sure?"}'), (second, "no id")]
        state.handled(first)
        assert state.unhandled_count() == 1
        assert state.first_time("whatsapp", "w-1") and not state.first_time("whatsapp", "w-1")
        for _ in range(3):
            state.record_unmet_need("homework_help", None, "nl")
            state.count_handoff("crisis", None, "heverlee", "ar", True)
        db, _ = state.connection
        assert db.scalar("SELECT count FROM unmet_needs") == 3
        assert db.fetchone("SELECT urgent, count FROM handoff_counts")[:] == (1, 3)  # type: ignore[index]
    finally:
        state.close()


def test_purge_with_nothing_expired_and_with_everything(state_db: Path | str) -> None:
    state = StateStore(state_db, lambda: NOW)
    try:
        state.save(ChatState("telegram:1", language="nl"))
        state.heard_from("telegram:1", 100.0)
        state.first_time("telegram", "m-1", "telegram:1")
        nothing = state.purge(
            handoff_ids=[],
            idle_before=NOW - timedelta(days=30),
            seen_before=NOW - timedelta(days=30),
            window_before=0.0,
        )
        assert set(nothing.values()) == {0}
        later = NOW + timedelta(days=1)
        gone = state.purge(
            handoff_ids=[], idle_before=later, seen_before=later, window_before=200.0
        )
        assert gone["chats"] == 1 and gone["message ids"] == 1 and gone["contact windows"] == 1
    finally:
        state.close()
