"""Opening hours in Leuven: public holidays, school holidays, midnight, DST, next opening."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from social_map.holidays import public_holidays, school_holiday_on
from social_map.hours import (
    BRUSSELS,
    check_expression,
    expand_school_holidays,
    is_open,
    state_at,
    to_brussels,
)

SUNDAY_FEASTS = {"Pasen", "Pinksteren"}
HOMEWORK = "Mo-Fr 15:30-17:30; SH off; PH off"
OFFICE = "Mo-Fr 09:00-12:00,13:30-16:00; PH off"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BRUSSELS)


def test_public_holiday_closes_the_office() -> None:
    assert state_at(OFFICE, at("2026-11-10T10:00")).open_now is True
    armistice = state_at(OFFICE, at("2026-11-11T10:00"))  # a Wednesday
    assert armistice.open_now is False
    assert armistice.next_change == at("2026-11-12T09:00")
    assert state_at(OFFICE, at("2026-12-25T10:00")).open_now is False  # a Friday


def test_homework_class_is_closed_in_the_autumn_holiday() -> None:
    assert state_at(HOMEWORK, at("2026-11-03T16:00")).open_now is False
    after = state_at(HOMEWORK, at("2026-11-20T15:45"))
    assert after == state_at(HOMEWORK, datetime(2026, 11, 20, 15, 45))  # naive = Brussels
    assert after.open_now is True
    assert after.next_change == at("2026-11-20T17:30")
    assert after.unknown is False


def test_next_opening_after_the_autumn_holiday() -> None:
    # Autumn holiday 2-8 November 2026; 11 November (Wednesday) is a public holiday.
    assert state_at(HOMEWORK, at("2026-11-03T16:00")).next_change == at("2026-11-09T15:30")


def test_next_opening_across_the_christmas_holidays() -> None:
    # Christmas holidays 21 December 2026 - 3 January 2027.
    state = state_at(HOMEWORK, at("2026-12-18T18:00"))
    assert state.open_now is False
    assert state.next_change == at("2027-01-04T15:30")


def test_split_hours() -> None:
    lunch = state_at(OFFICE, at("2026-11-17T12:30"))
    assert lunch.open_now is False
    assert lunch.next_change == at("2026-11-17T13:30")
    assert state_at(OFFICE, at("2026-11-17T14:00")).next_change == at("2026-11-17T16:00")


def test_hours_past_midnight() -> None:
    late = "Fr 20:00-02:00"
    saturday_night = state_at(late, at("2026-11-21T01:00"))
    assert saturday_night.open_now is True
    assert saturday_night.next_change == at("2026-11-21T02:00")
    assert state_at(late, at("2026-11-21T03:00")).open_now is False


def test_closed_on_sunday_and_next_opening_across_the_weekend() -> None:
    shop = "Mo-Sa 09:00-17:00"
    sunday = state_at(shop, at("2026-11-22T11:00"))
    assert sunday.open_now is False
    assert sunday.next_change == at("2026-11-23T09:00")
    friday_evening = state_at(OFFICE, at("2026-11-20T17:00"))
    assert friday_evening.next_change == at("2026-11-23T09:00")


def test_dst_spring_forward() -> None:
    # Clocks go from 02:00 to 03:00 on Sunday 29 March 2026.
    state = state_at("Mo-Fr 09:00-17:00", at("2026-03-27T18:00"))
    assert state.next_change == at("2026-03-30T09:00")
    assert state.next_change.utcoffset() == timedelta(hours=2)
    night = state_at("Sa 20:00-04:00", at("2026-03-29T03:30"))
    assert night.open_now is True
    assert night.next_change == at("2026-03-29T04:00")


def test_wall_time_in_the_dst_gap_is_moved_forward() -> None:
    # 02:30 does not exist on 29 March 2026; it means 03:30 summer time.
    gap = datetime(2026, 3, 29, 2, 30)
    assert to_brussels(gap) == at("2026-03-29T03:30")
    assert state_at("Sa 20:00-04:00", gap).next_change == at("2026-03-29T04:00")
    assert is_open("Su 03:00-05:00", at("2026-03-29T02:30")) is True


def test_dst_fall_back() -> None:
    # Clocks go from 03:00 back to 02:00 on Sunday 25 October 2026.
    state = state_at("Mo-Fr 09:00-17:00", at("2026-10-23T18:00"))
    assert state.next_change == at("2026-10-26T09:00")
    assert state.next_change.utcoffset() == timedelta(hours=1)


def test_utc_input_is_converted_to_brussels() -> None:
    # 14:45 UTC is 15:45 in Brussels in November.
    utc = datetime(2026, 11, 20, 14, 45, tzinfo=UTC)
    assert to_brussels(utc) == at("2026-11-20T15:45")
    assert state_at(HOMEWORK, utc).open_now is True


def test_always_open_never_changes() -> None:
    state = state_at("24/7", at("2026-12-25T03:00"))
    assert state.open_now is True
    assert state.next_change is None


def test_unknown_and_missing_hours() -> None:
    assert state_at(None, at("2026-11-20T10:00")).unknown is True
    assert state_at("", at("2026-11-20T10:00")).open_now is None
    unknown = state_at("Mo-Fr 09:00-12:00 unknown", at("2026-11-20T10:00"))
    assert unknown.open_now is None and unknown.unknown is True


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("PH,SH off", "2026-11-03T10:00", False),  # school holiday
        ("PH,SH off", "2026-11-11T10:00", False),  # public holiday
        ("Mo-Fr 09:00-17:00; PH,SH off", "2026-11-12T10:00", True),
        ("Mo-Fr 09:00-17:00; SH,PH off", "2026-11-12T10:00", True),
        ("SH Mo-Fr 10:00-12:00", "2026-11-03T11:00", True),  # holiday camp, in the holidays
        ("SH Mo-Fr 10:00-12:00", "2026-11-10T11:00", False),  # not in a school week
        ("SH Mo-Fr 10:00-12:00", "2026-11-07T11:00", False),  # a Saturday in the holiday
        ("Mo-Fr 10:00-12:00; SH off", "2027-04-01T11:00", False),  # Easter 2027 is in March
        ("Mo-Fr,SH 10:00-12:00", "2026-11-07T11:00", True),  # weekday OR school holiday
        ("Mo-Fr 10:00-12:00; sh off", "2026-11-03T11:00", False),  # lower case works too
    ],
)
def test_school_holiday_selectors(expression: str, moment: str, expected: bool) -> None:
    assert is_open(expression, at(moment)) is expected


def test_expansion_turns_sh_into_dated_ranges() -> None:
    expanded = expand_school_holidays("Mo-Fr 15:30-17:30; PH,SH off", 2026)
    assert expanded.startswith("Mo-Fr 15:30-17:30; PH off; 2025Oct27-2025Nov02,")
    assert "2026Nov02-2026Nov08" in expanded and "2029Jul01-2029Aug31 off" in expanded
    assert expand_school_holidays('Mo 10:00-12:00 "SH"', 2026) == 'Mo 10:00-12:00 "SH"'


def test_next_change_reaches_past_the_first_window_year() -> None:
    # Evaluated at the end of the year: the next opening is in the next year. Christmas 2027
    # is a Saturday, so the holiday runs 27 December 2027 - 9 January 2028.
    assert state_at(HOMEWORK, at("2027-12-31T12:00")).next_change == at("2028-01-10T15:30")


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)))
def test_sh_and_ph_match_the_calendars(moment: datetime) -> None:
    day: date = moment.date()
    names = public_holidays(day.year)
    # Easter Sunday and Whit Sunday are Sundays anyway and not legal days off; the two
    # calendars disagree about them, which changes nothing for an opening time.
    assume(names.get(day) not in SUNDAY_FEASTS)
    holiday = school_holiday_on(day) is not None or day in names
    assert is_open("24/7; PH,SH off", moment) is (not holiday)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "Mo-Fx 10:00-12:00",
            'opening hours "Mo-Fx 10:00-12:00": cannot read "Fx 10:00-12:00" '
            "(expected a day like Mo, Tu, We, Th, Fr, Sa, Su)",
        ),
        ("Mon-Fri 09:00-12:00", "write days with two letters"),
        ("ma-vr 09:00-12:00", 'cannot read "ma-vr 09:00-12:00"'),
        ("Mo-Fr 09:00-12:00 13:00-16:00", "separate two time ranges with a comma"),
        ("Mo-Fr 9h-12h", "write times with a colon"),
        ("Mo-Fr 10-12", "write times with minutes"),
        ("Mo-Fr 09:60-10:00", "minutes go from 00 to 59"),
        ("Mo-Fr 25:00-26:00", "hours go from 00 to 24"),
        ("Mo-Fr 09:00-12:00; PH of", 'did you mean "off"?'),
        ("Mo-Fr 09:00-12:00;;", 'two ";" in a row'),
        ("Mo-Fr 09:00-12:00 ; Sa 10:00-", "the text stops too early"),
        ('Mo-Fr 09:00-12:00 "op afspraak', "a comment in quotes must end"),
        ("Sep-Jun SH off", "SH (school holidays) can only stand at the start of a rule"),
        ("  ", "opening hours are empty"),
        (930, "must be text in quotes"),
    ],
)
def test_check_expression_names_the_offending_part(expression: object, message: str) -> None:
    problem = check_expression(expression)
    assert problem is not None
    assert message in problem


@pytest.mark.parametrize(
    "expression",
    [
        "Tu 09:00-11:00; Th 15:00-17:00",
        "Mo-Fr 09:00-12:00,13:30-16:00; PH off",
        "Mo,Tu,Th,Fr 15:30-17:30; SH off; PH off",
        "24/7",
        'Tu,Th 09:00-11:00 "op afspraak"',
        "Mo-Fr 09:00-12:00; PH,SH off",
    ],
)
def test_check_expression_accepts_valid_hours(expression: str) -> None:
    assert check_expression(expression) is None
