"""The checker reports every problem of every file at once, with the right line."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from social_map.loader import load_map
from social_map.validators import check_email, check_phone, check_url, phone_e164

FIXTURES = Path(__file__).parent / "fixtures" / "social_map"
TODAY = date(2026, 11, 21)

MINIMAL = """\
id: {id}
name:
  nl: Voorbeeld
description:
  nl: Een voorbeeld.
needs: [food]
areas: [heverlee]
source:
  - url: https://example.org
last_verified: 2026-11-01
phones:
  - number: "016 24 80 11"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def lines_of(problems: list, file_name: str) -> list[tuple[int, str]]:
    return [(p.line, p.severity) for p in problems if p.path.endswith(file_name)]


def message_at(problems: list, file_name: str, line: int) -> str:
    found = [p.message for p in problems if p.path.endswith(file_name) and p.line == line]
    assert found, f"no problem on {file_name}:{line}"
    return " | ".join(found)


def test_good_fixtures_have_no_errors() -> None:
    result = load_map(FIXTURES / "good", today=TODAY)
    assert result.errors == []
    assert len(result.services) == 11
    (warning,) = result.warnings
    assert warning.path.endswith("good/bib-heverlee.yml") and warning.line == 15


def test_all_problems_of_all_files_in_one_run() -> None:
    result = load_map(FIXTURES / "broken", today=TODAY)
    problems = result.problems
    assert result.services == []
    assert lines_of(problems, "scool.yml") == [
        (line, "error") for line in (2, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 21, 22, 25, 26)
    ]
    assert lines_of(problems, "wrong-name.yml") == [
        *[(line, "error") for line in (1, 1, 1, 2, 8, 9, 10, 12, 13, 15)],
        (16, "warning"),
    ]
    assert lines_of(problems, "syntax.yml") == [(4, "error")]
    assert lines_of(problems, "list.yml") == [(1, "error")]
    assert len(result.files) == 4


@pytest.mark.parametrize(
    ("file_name", "line", "expected"),
    [
        ("scool.yml", 2, '"type" cannot be "servise" (did you mean "service"?)'),
        ("scool.yml", 5, 'unknown language "nld" in "name" (did you mean "nl"?)'),
        ("scool.yml", 6, '"description" has no Dutch text (nl:)'),
        ("scool.yml", 8, 'unknown need "scool_costs" (did you mean "school_costs"?)'),
        ("scool.yml", 9, 'unknown area "heverle" (did you mean "heverlee"?)'),
        ("scool.yml", 10, 'web address "www.example.org" must start with https://'),
        ("scool.yml", 11, '"info@example" is not a valid e-mail address'),
        ("scool.yml", 13, 'phone number "016 24 80" has 7 digits'),
        ("scool.yml", 14, 'short number "112" is only allowed for a helpline'),
        ("scool.yml", 15, '"cost" cannot be "cheap"; choose one of: free, social_rate, paid'),
        ("scool.yml", 16, 'unknown application process "walk-in" (did you mean "walk_in"?)'),
        (
            "scool.yml",
            17,
            'opening hours "Mo-Fx 10:00-12:00": cannot read "Fx 10:00-12:00" '
            "(expected a day like Mo, Tu, We, Th, Fr, Sa, Su)",
        ),
        ("scool.yml", 18, 'unknown field "adress": an address belongs in a location'),
        ("scool.yml", 21, 'postcode 3000 does not match area "heverlee" (postcode 3001)'),
        ("scool.yml", 22, "latitude is given without longitude"),
        ("scool.yml", 25, "source date 2999-01-01 is in the future"),
        ("scool.yml", 26, 'last_verified "2026-02-30" is not a date'),
        ("wrong-name.yml", 1, 'missing required field "needs"'),
        ("wrong-name.yml", 1, 'missing required field "source"'),
        ("wrong-name.yml", 1, 'id "Wrong Name" may only contain lowercase letters'),
        ("wrong-name.yml", 2, '"name" has no Dutch text'),
        ("wrong-name.yml", 8, "write the number in quotes"),
        ("wrong-name.yml", 9, '"+31 6 12345678" is not a Belgian number'),
        ("wrong-name.yml", 10, '"Arabic" is not a language code'),
        ("wrong-name.yml", 12, '"leuven" is only for "areas:"'),
        ("wrong-name.yml", 13, 'latitude "95" must be a number between -90 and 90'),
        ("wrong-name.yml", 15, 'this location has no "area:"'),
        ("wrong-name.yml", 16, "last checked on 2024-01-01, more than 12 months ago"),
        ("syntax.yml", 4, "the list that starts here with [ is not closed with ]"),
        ("list.yml", 1, "not a list"),
    ],
)
def test_messages_are_plain_and_precise(file_name: str, line: int, expected: str) -> None:
    problems = load_map(FIXTURES / "broken", today=TODAY).problems
    assert expected in message_at(problems, file_name, line)


def test_problem_prints_like_a_compiler_message() -> None:
    problem = next(p for p in load_map(FIXTURES / "broken", today=TODAY).problems if p.line == 8)
    assert str(problem).endswith(
        'scool.yml:8: error: unknown need "scool_costs" (did you mean "school_costs"?)'
    )


def test_duplicate_id_names_both_files() -> None:
    result = load_map(FIXTURES / "duplicate", today=TODAY)
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.path.endswith("b/studiebegeleiding-leuven.yml") and error.line == 2
    assert 'id "studiebegeleiding-leuven" is already used in' in error.message
    assert "a/studiebegeleiding-leuven.yml" in error.message
    assert [s["name"]["nl"] for s in result.services] == ["Studiebegeleiding Leuven"]


def test_id_must_match_the_file_name(tmp_path: Path) -> None:
    write(tmp_path, "copy-of-service.yml", MINIMAL.format(id="original-service"))
    (error,) = load_map(tmp_path, today=TODAY).errors
    assert error.line == 1
    assert 'must be the same as the file name ("copy-of-service.yml")' in error.message


def test_minimal_file_becomes_a_normalised_record(tmp_path: Path) -> None:
    write(tmp_path, "voorbeeld.yml", MINIMAL.format(id="voorbeeld"))
    result = load_map(tmp_path, today=TODAY)
    assert result.problems == []
    (record,) = result.services
    assert record["id"] == "voorbeeld" and record["type"] == "service"
    assert record["last_verified"] == "2026-11-01"
    assert record["phones"] == [{"number": "016 24 80 11", "description": {}}]
    assert record["locations"] == [] and record["cost"] is None
    assert record["keywords"] == {} and record["end_date"] is None


def test_nested_unknown_fields_duplicate_keys_and_dates(tmp_path: Path) -> None:
    write(
        tmp_path,
        "nested.yml",
        """\
        id: nested
        name:
          nl: Genest
        description:
          nl: |
            Twee
            regels.
        needs: [food]
        areas: [leuven]
        website: https://example.org
        phones:
          - number: "016 24 80 11"
            descriptoin: {nl: onthaal}
        locations:
          - area: kessel-lo
            postcode: "3010"
            latitude: 4.70
            longitude: 50.88
        source:
          - url: https://example.org
            datum: 2026-01-01
        last_verified: "2999-01-01"
        """,
    )
    write(tmp_path, "twice.yml", MINIMAL.format(id="twice") + "needs: [money]\n")
    problems = load_map(tmp_path, today=TODAY).problems
    assert lines_of(problems, "nested.yml") == [
        (5, "warning"),
        (10, "error"),
        (13, "error"),
        (16, "error"),
        (17, "warning"),
        (21, "error"),
        (22, "error"),
    ]
    assert 'unknown field "website" (did you mean "url"?)' in message_at(problems, "nested.yml", 10)
    assert 'unknown field "descriptoin" in a phone (did you mean "description"?)' in message_at(
        problems, "nested.yml", 13
    )
    assert '"postcode" in a location (did you mean "postal_code"?)' in message_at(
        problems, "nested.yml", 16
    )
    assert "are latitude and longitude swapped?" in message_at(problems, "nested.yml", 17)
    assert 'unknown field "datum" in a source' in message_at(problems, "nested.yml", 21)
    assert "last_verified 2999-01-01 is in the future" in message_at(problems, "nested.yml", 22)
    assert "one short line" in message_at(problems, "nested.yml", 5)
    assert 'the field "needs" appears twice (also on line 6)' in message_at(
        problems, "twice.yml", 13
    )


def test_stale_entry_is_only_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "oud.yml", MINIMAL.format(id="oud").replace("2026-11-01", "2025-11-20"))
    result = load_map(tmp_path, today=TODAY)
    assert result.ok and len(result.services) == 1
    (warning,) = result.warnings
    assert warning.line == 10 and warning.severity == "warning"
    write(tmp_path, "oud.yml", MINIMAL.format(id="oud").replace("2026-11-01", "2025-11-21"))
    assert load_map(tmp_path, today=TODAY).problems == []


def test_empty_files_yaml_extension_and_empty_folder(tmp_path: Path) -> None:
    write(tmp_path, "leeg.yml", "")
    write(tmp_path, "verkeerd.yaml", MINIMAL.format(id="verkeerd"))
    write(tmp_path, ".verborgen.yml", "not: [checked")
    problems = load_map(tmp_path, today=TODAY).problems
    assert [(Path(p.path).name, p.line) for p in problems] == [
        ("leeg.yml", 1),
        ("verkeerd.yaml", 0),
    ]
    assert "must end in .yml" in problems[1].message
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no .yml files found" in load_map(empty).errors[0].message
    with pytest.raises(FileNotFoundError):
        load_map(tmp_path / "missing")


def test_parallel_check_gives_the_same_result(tmp_path: Path) -> None:
    for number in range(12):
        write(tmp_path, f"s{number}.yml", MINIMAL.format(id=f"s{number}"))
    write(tmp_path, "s3.yml", MINIMAL.format(id="s3").replace("[food]", "[fod]"))
    serial = load_map(tmp_path, today=TODAY, workers=1)
    parallel = load_map(tmp_path, today=TODAY, workers=2)
    assert parallel.problems == serial.problems and len(serial.problems) == 1
    assert parallel.services == serial.services


@pytest.mark.parametrize(
    "number",
    [
        "016 24 80 11",
        "016/24.80.11",
        "0470 12 34 56",
        "+32 16 24 80 11",
        "+32 (0)16 24 80 11",
        "0032 470 12 34 56",
        "0800 12 345",
        "0900 12 345",
        "070 23 45 67",
        "078 15 10 20",
    ],
)
def test_valid_belgian_numbers(number: str) -> None:
    assert check_phone(number, allow_short=False) is None
    assert phone_e164(number).startswith("+32")


@pytest.mark.parametrize("number", ["112", "101", "1712", "1813", "106", "116 000"])
def test_short_numbers_only_for_helplines(number: str) -> None:
    assert check_phone(number, allow_short=True) is None
    assert "only allowed for a helpline" in check_phone(number, allow_short=False)
    assert phone_e164(number) is None


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("016 24 80", "has 7 digits"),
        ("016 24 80 11 1", "one digit too many"),
        ("+31 20 123 45 67", "not a Belgian number"),
        ("16 24 80 11", "start it with 0 or +32"),
        ("bel 016 24 80 11", "may only contain digits"),
        ("12", "start it with 0 or +32"),
        ("1234567", "start it with 0 or +32"),
    ],
)
def test_malformed_numbers(number: str, message: str) -> None:
    problem = check_phone(number, allow_short=True)
    assert problem is not None and message in problem


def test_email_and_url_checks() -> None:
    assert check_email("info@huisvanhetkind-leuven.be") is None
    assert "mailto" in check_email("mailto:info@example.be")
    assert check_email("info at example.be") is not None
    assert check_url("https://www.leuven.be/kinderkuren") is None
    assert "must start with https://" in check_url("www.leuven.be")
    assert "contains a space" in check_url("https://www.leuven .be")
    assert "no valid site name" in check_url("https://localhost")
