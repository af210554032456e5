"""Flemish school holidays computed from the rule match the published calendars."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from dateutil.easter import easter
from hypothesis import given
from hypothesis import strategies as st

from social_map.holidays import (
    public_holidays,
    school_holiday_on,
    school_year_holidays,
    school_year_of,
)


def _dates(school_year: int) -> dict[str, tuple[date, date]]:
    return {h.name: (h.start, h.end) for h in school_year_holidays(school_year)}


def test_published_2025_2026_calendar() -> None:
    assert _dates(2025) == {
        "herfst": (date(2025, 10, 27), date(2025, 11, 2)),
        "kerst": (date(2025, 12, 22), date(2026, 1, 4)),
        "krokus": (date(2026, 2, 16), date(2026, 2, 22)),
        "paas": (date(2026, 4, 6), date(2026, 4, 19)),
        "zomer": (date(2026, 7, 1), date(2026, 8, 31)),
    }


def test_computed_2026_2027_calendar() -> None:
    # 1 November 2026 is a Sunday; Easter 2027 falls in March (28 March).
    assert _dates(2026) == {
        "herfst": (date(2026, 11, 2), date(2026, 11, 8)),
        "kerst": (date(2026, 12, 21), date(2027, 1, 3)),
        "krokus": (date(2027, 2, 8), date(2027, 2, 14)),
        "paas": (date(2027, 3, 29), date(2027, 4, 11)),
        "zomer": (date(2027, 7, 1), date(2027, 8, 31)),
    }


@pytest.mark.parametrize(
    ("school_year", "name", "start", "end"),
    [
        # Published calendars of earlier years, one per special case of the rule.
        (2021, "kerst", date(2021, 12, 27), date(2022, 1, 9)),  # Christmas on a Saturday
        (2021, "paas", date(2022, 4, 4), date(2022, 4, 18)),  # Easter after 15 April
        (2023, "paas", date(2024, 4, 1), date(2024, 4, 14)),  # Easter in March
        (2022, "paas", date(2023, 4, 3), date(2023, 4, 16)),  # first Monday of April
        (2024, "paas", date(2025, 4, 7), date(2025, 4, 21)),  # Easter 20 April
        (2024, "krokus", date(2025, 3, 3), date(2025, 3, 9)),
        (2021, "herfst", date(2021, 11, 1), date(2021, 11, 7)),  # 1 November a Monday
    ],
)
def test_earlier_published_holidays(school_year: int, name: str, start: date, end: date) -> None:
    assert _dates(school_year)[name] == (start, end)


def test_school_holiday_on_and_school_year() -> None:
    assert school_holiday_on(date(2026, 11, 3)).name == "herfst"
    assert school_holiday_on(date(2027, 1, 3)).name == "kerst"
    assert school_holiday_on(date(2026, 8, 15)).name == "zomer"
    assert school_holiday_on(date(2026, 11, 20)) is None
    assert school_year_of(date(2026, 8, 31)) == 2025
    assert school_year_of(date(2026, 9, 1)) == 2026


def test_public_holidays_come_from_the_holidays_library() -> None:
    days = public_holidays(2026)
    assert days[date(2026, 11, 11)] == "Wapenstilstand"
    assert date(2026, 12, 25) in days and date(2026, 7, 21) in days
    assert "Armistice" in public_holidays(2026, "en")[date(2026, 11, 11)]


@given(st.integers(min_value=1990, max_value=2200))
def test_holidays_follow_the_rule_every_year(school_year: int) -> None:
    autumn, christmas, crocus, easter_break, summer = school_year_holidays(school_year)
    holidays = (autumn, christmas, crocus, easter_break, summer)
    assert all(a.end < b.start for a, b in itertools.pairwise(holidays))
    assert all(h.start.weekday() == 0 for h in holidays[:4])
    assert (autumn.end - autumn.start).days == 6
    assert date(school_year, 11, 1) in autumn or autumn.start == date(school_year, 11, 2)
    assert (christmas.end - christmas.start).days == 13
    assert date(school_year, 12, 25) in christmas or christmas.start > date(school_year, 12, 25)
    assert (crocus.end - crocus.start).days == 6
    sunday = easter(school_year + 1)
    assert (sunday - crocus.start).days == 6 * 7 + 6
    assert sunday in easter_break or sunday + timedelta(days=1) in easter_break
    assert (easter_break.end - easter_break.start).days in (13, 14)
    assert (summer.start, summer.end) == (date(school_year + 1, 7, 1), date(school_year + 1, 8, 31))
