"""``wegwijs map check|build|find|search|info`` as editors and developers use them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "social_map"
WEGWIJS = Path(sys.executable).parent / "wegwijs"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "social_map.db"
    result = CliRunner().invoke(
        main,
        ["map", "build", "--today", TODAY, "--data", str(FIXTURES / "good"), "--out", str(path)],
    )
    assert result.exit_code == 0, result.output
    assert "Built" in result.output and "11 services" in result.output
    return path


# How old a fact is gets judged against this day, not the wall clock: the fixtures' warnings
# ("last checked more than 12 months ago") must be the same whatever day the suite runs.
TODAY = "2026-11-24"


def run(*args: str) -> tuple[int, str]:
    if args[0] in ("check", "build"):
        args = (args[0], "--today", TODAY, *args[1:])
    result = CliRunner().invoke(main, ["map", *args])
    return result.exit_code, result.output


def test_check_good_map() -> None:
    code, output = run("check", str(FIXTURES / "good"))
    assert code == 0
    assert output.strip().splitlines()[-1] == "Checked 11 files: 0 errors, 1 warning."
    assert "bib-heverlee.yml:15: warning: last checked on 2025-06-01" in output


def test_check_broken_map_lists_everything_and_fails() -> None:
    code, output = run("check", str(FIXTURES / "broken"))
    assert code == 1
    lines = output.strip().splitlines()
    assert lines[-1] == "Checked 4 files: 29 errors, 1 warning."
    assert len(lines) == 31
    assert any(
        line.endswith(
            'scool.yml:8: error: unknown need "scool_costs" (did you mean "school_costs"?)'
        )
        for line in lines
    )
    assert any(
        line.endswith("syntax.yml:4: error: the list that starts here with [ is not closed with ]")
        for line in lines
    )


def test_check_one_file_and_a_missing_path(tmp_path: Path) -> None:
    code, output = run("check", str(FIXTURES / "good" / "ocmw-test.yml"))
    assert code == 0 and "Checked 1 file: no problems." in output
    code, output = run("check", str(tmp_path / "nothing-here"))
    assert code == 1 and "no such file or folder" in output


def test_build_with_errors_keeps_the_previous_database(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "social_map.db"
    shutil.copy(db, out)
    before = out.read_bytes()
    code, output = run("build", "--data", str(FIXTURES / "broken"), "--out", str(out))
    assert code == 1
    assert f"Build stopped: 29 errors; the previous database {out} was kept." in output
    assert out.read_bytes() == before
    code, output = run("build", "--data", str(FIXTURES / "broken"), "--out", str(tmp_path / "x"))
    assert code == 1 and "nothing was built" in output


def test_find_human_output(db: Path) -> None:
    code, output = run(
        "find",
        "--need",
        "homework_help",
        "--area",
        "heverlee",
        "--at",
        "2026-11-20T15:45",
        "--db",
        str(db),
    )
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == "1. Huiswerkklas Heverlee [heverlee, local]"
    assert "   Address: Teststraat 1, 3001 Leuven" in lines
    assert "   open now until 17:30" in lines
    assert "   Phone: 016 27 00 00" in lines
    assert "   opens Mon 18:00" in lines  # the evening study, after the weekend
    code, output = run("find", "--need", "digital", "--db", str(db), "--at", "2026-11-20T10:00")
    assert "hours unknown" in output
    code, output = run("find", "--need", "food", "--db", str(db), "--at", "2026-11-21T07:00")
    assert "opens today 09:00" in output
    code, output = run("find", "--need", "housing", "--db", str(db))
    assert code == 0 and "No services found." in output


def test_find_json(db: Path) -> None:
    code, output = run(
        "find",
        "--need",
        "food",
        "--lang",
        "fr",
        "--at",
        "2026-11-17T14:00",
        "--json",
        "--db",
        str(db),
    )
    assert code == 0
    (grocery,) = json.loads(output)
    assert grocery["id"] == "sociale-kruidenier"
    assert grocery["name"] == "Épicerie sociale" and grocery["name_lang"] == "fr"
    assert grocery["open_now"] is True
    assert grocery["next_change"] == "2026-11-17T17:00:00+01:00"
    assert grocery["last_verified"] == "2026-10-01" and grocery["phones"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--need", "homwork_help"], 'unknown need "homwork_help" (did you mean "homework_help"?)'),
        (["--need", "food", "--area", "kesel-lo"], 'unknown area "kesel-lo" (did you mean'),
        (["--need", "food", "--lang", "nl-be"], 'unknown language "nl-be"'),
        (["--need", "food", "--at", "tomorrow"], '"tomorrow" is not a date-time'),
    ],
)
def test_find_refuses_unknown_values(db: Path, args: list[str], message: str) -> None:
    code, output = run("find", *args, "--db", str(db))
    assert code == 2
    assert message in output


def test_find_without_database(tmp_path: Path) -> None:
    code, output = run("find", "--need", "food", "--db", str(tmp_path / "none.db"))
    assert code == 1 and "build it with `wegwijs map build`" in output


def test_search_and_info(db: Path) -> None:
    code, output = run("search", "devoirs", "--lang", "fr", "--db", str(db))
    assert code == 0 and output.startswith("1. Classe de devoirs Heverlee")
    code, output = run("search", "واجبات", "--json", "--db", str(db))
    assert [m["id"] for m in json.loads(output)] == ["huiswerkklas-heverlee"]
    code, output = run("info", "--db", str(db))
    assert code == 0 and "services:        11" in output and "oldest verified: 2025-06-01" in output


def test_find_json_via_the_installed_command(db: Path, tmp_path: Path) -> None:
    env = {**os.environ, "WEGWIJS_DATA_DIR": str(tmp_path)}
    completed = subprocess.run(
        [
            str(WEGWIJS),
            "map",
            "find",
            "--need",
            "homework_help",
            "--area",
            "kessel-lo",
            "--at",
            "2026-11-18T14:00",
            "--json",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    matches = json.loads(completed.stdout)
    assert isinstance(matches, list) and len(matches) == 5
    for match in matches:
        assert {"id", "name", "open_now", "next_change", "address", "phones", "local"} <= set(match)
        assert match["open_now"] in (True, False, None)
        if match["next_change"] is not None:
            assert datetime.fromisoformat(match["next_change"]).tzinfo is not None
    assert [m["id"] for m in matches[:3]] == [
        "huiswerkpunt-kessel-lo",
        "avondstudie-kessel-lo",
        "bijles-kessel-lo",
    ]
    assert matches[2]["next_change"] is None and matches[2]["open_now"] is None
