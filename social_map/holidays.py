"""Flemish school holidays, computed from the rule instead of typed in every year.

The opening-hours library knows Belgian public holidays (``PH``) but not Flemish school holidays
(``SH``), and a homework class or after-school care closes in them. The dates follow fixed rules
(Besluit van de Vlaamse Regering van 17 april 1991 betreffende de organisatie van het
schooljaar), so computing them means the map never goes stale at New Year:

- autumn (herfst): one week, Monday to Sunday, the week that contains 1 November; when
  1 November is a Sunday, 2 to 8 November;
- Christmas (kerst): two weeks from the Monday of the week that contains 25 December; when
  Christmas is a Saturday or a Sunday, from the Monday after;
- crocus (krokus): one week from the seventh Monday before Easter;
- Easter (paas): two weeks from the first Monday of April; when Easter is in March, from Easter
  Monday; when Easter is after 15 April, from the second Monday before Easter (Easter Monday,
  the day after those two weeks, is then also free);
- summer (zomer): 1 July to 31 August.

Single free days (the Friday after Ascension, pedagogical study days) are not school holidays
here: they differ per school.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import holidays as _holidays_lib
from dateutil.easter import easter

MONDAY, SATURDAY, SUNDAY = 0, 5, 6


@dataclass(frozen=True)
class SchoolHoliday:
    """One holiday period; ``start`` and ``end`` are both inclusive."""

    name: str  # herfst | kerst | krokus | paas | zomer
    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def _monday_of_week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def autumn_holiday(year: int) -> SchoolHoliday:
    all_saints = date(year, 11, 1)
    if all_saints.weekday() == SUNDAY:
        start = all_saints + timedelta(days=1)
    else:
        start = _monday_of_week(all_saints)
    return SchoolHoliday("herfst", start, start + timedelta(days=6))


def christmas_holiday(year: int) -> SchoolHoliday:
    """The Christmas holiday that starts in December of ``year``."""
    christmas = date(year, 12, 25)
    if christmas.weekday() >= SATURDAY:
        start = christmas + timedelta(days=7 - christmas.weekday())
    else:
        start = _monday_of_week(christmas)
    return SchoolHoliday("kerst", start, start + timedelta(days=13))


def crocus_holiday(year: int) -> SchoolHoliday:
    # Easter is a Sunday, so the first Monday before it is 6 days earlier.
    start = easter(year) - timedelta(days=6 + 7 * 6)
    return SchoolHoliday("krokus", start, start + timedelta(days=6))


def easter_holiday(year: int) -> SchoolHoliday:
    easter_sunday = easter(year)
    easter_monday = easter_sunday + timedelta(days=1)
    if easter_sunday.month == 3:
        return SchoolHoliday("paas", easter_monday, easter_monday + timedelta(days=13))
    if easter_sunday > date(year, 4, 15):
        start = easter_sunday - timedelta(days=13)
        return SchoolHoliday("paas", start, easter_monday)
    first_of_april = date(year, 4, 1)
    start = first_of_april + timedelta(days=(MONDAY - first_of_april.weekday()) % 7)
    return SchoolHoliday("paas", start, start + timedelta(days=13))


def summer_holiday(year: int) -> SchoolHoliday:
    return SchoolHoliday("zomer", date(year, 7, 1), date(year, 8, 31))


@cache
def school_year_holidays(school_year: int) -> tuple[SchoolHoliday, ...]:
    """The five holidays of the school year that starts on 1 September ``school_year``."""
    return (
        autumn_holiday(school_year),
        christmas_holiday(school_year),
        crocus_holiday(school_year + 1),
        easter_holiday(school_year + 1),
        summer_holiday(school_year + 1),
    )


def school_holidays(first_school_year: int, last_school_year: int) -> list[SchoolHoliday]:
    """All holidays of the school years ``first_school_year`` .. ``last_school_year``."""
    return [
        holiday
        for year in range(first_school_year, last_school_year + 1)
        for holiday in school_year_holidays(year)
    ]


def school_year_of(day: date) -> int:
    """The school year a day belongs to (the summer holiday ends the previous one)."""
    return day.year if day.month >= 9 else day.year - 1


def school_holiday_on(day: date) -> SchoolHoliday | None:
    """The school holiday that contains ``day``, if any."""
    for holiday in school_year_holidays(school_year_of(day)):
        if day in holiday:
            return holiday
    return None


def public_holidays(year: int, language: str = "nl") -> dict[date, str]:
    """Belgian public holidays with their names, for display and for cross-checking ``PH``.

    The opening-hours evaluation itself uses the calendar built into opening-hours-py.
    """
    language = language if language in _holidays_lib.Belgium.supported_languages else "en_US"
    calendar = _holidays_lib.country_holidays("BE", years=year, language=language)
    return dict(sorted(calendar.items()))
