"""Evaluate OpenStreetMap ``opening_hours`` for Leuven, including Flemish school holidays.

opening-hours-py knows Belgian public holidays (``PH``) but has no calendar for ``SH``. Before
parsing we therefore rewrite every ``SH`` into the explicit dated ranges computed by
``social_map.holidays`` (``SH off`` -> ``2025Oct27-2025Nov02,2025Dec22-2026Jan04,... off``), for
the school years around the evaluation date. Parsed expressions are cached per
(expression, window), so the bot pays the parse cost once per expression and year.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError, State

from social_map.holidays import school_holidays

BRUSSELS = ZoneInfo("Europe/Brussels")
MAX_INTERVAL_DAYS = 366
# Checking an expression's syntax must not depend on today's date: SH expands by rule for any
# year, so one fixed year gives the same verdict every day.
CHECK_YEAR = 2026
"""A state that lasts longer than this counts as "never changes": bounds next_change's search."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class HoursError(ValueError):
    """An opening-hours expression that cannot be evaluated; the message is for editors."""


@dataclass(frozen=True)
class HoursState:
    """What the bot needs to say "open now until 16:00" or "opens Tue 09:00".

    ``open_now`` is None when the hours are unknown (no expression, or an ``unknown`` rule);
    ``next_change`` is None when the state never changes (``24/7``) or not within a year.
    """

    open_now: bool | None
    next_change: datetime | None
    unknown: bool


UNKNOWN_HOURS = HoursState(open_now=None, next_change=None, unknown=True)


def to_brussels(at: datetime | None = None) -> datetime:
    """Now, or ``at`` as an aware Brussels time; naive datetimes are taken as Brussels time.

    The library only accepts ``ZoneInfo`` aware datetimes that exist, so UTC and fixed offsets
    are converted, and a wall time in the spring-forward gap (02:30 on the last Sunday of March)
    moves to the real time it stands for (03:30).
    """
    if at is None:
        return datetime.now(BRUSSELS)
    if at.tzinfo is None:
        at = at.replace(tzinfo=BRUSSELS)
    return at.astimezone(UTC).astimezone(BRUSSELS)


# --- SH expansion -------------------------------------------------------------------------------


def _format_day(day: date) -> str:
    return f"{day.year}{_MONTHS[day.month - 1]}{day.day:02d}"


@lru_cache(maxsize=16)
def school_holiday_ranges(year: int) -> str:
    """``SH`` as OSM date ranges for the school years ``year - 1`` .. ``year + 2``."""
    return ",".join(
        f"{_format_day(h.start)}-{_format_day(h.end)}" for h in school_holidays(year - 1, year + 2)
    )


def _split_outside_quotes(text: str, separators: tuple[str, ...]) -> list[str]:
    """Split on any separator outside "comments", keeping the separators as list items."""
    parts: list[str] = []
    start, index, in_quote = 0, 0, False
    while index < len(text):
        char = text[index]
        if char == '"':
            in_quote = not in_quote
        elif not in_quote:
            separator = next((s for s in separators if text.startswith(s, index)), None)
            if separator:
                parts += [text[start:index], separator]
                index += len(separator)
                start = index
                continue
        index += 1
    parts.append(text[start:])
    return parts


_SH_WORD = re.compile(r"(?<![A-Za-z])SH(?![A-Za-z])", re.IGNORECASE)


def _mentions_sh(rule: str) -> bool:
    return bool(_SH_WORD.search(re.sub(r'"[^"]*"?', "", rule)))


def _expand_rule(rule: str, ranges: str, joiner: str) -> str:
    body = rule.lstrip()
    token, _, rest = body.partition(" ")
    rest = f" {rest}" if rest else ""
    items = token.split(",")
    if not any(item.upper() == "SH" for item in items):
        raise HoursError(
            'SH (school holidays) can only stand at the start of a rule, for example "SH off" '
            'or "Mo-Fr,SH 10:00-12:00"; start a new rule with ";" before it'
        )
    others = [item for item in items if item.upper() != "SH"]
    leading = rule[: len(rule) - len(body)]
    if not others:
        return f"{leading}{ranges}{rest}"
    return f"{leading}{','.join(others)}{rest}{joiner}{ranges}{rest}"


def expand_school_holidays(expression: str, year: int) -> str:
    """Replace ``SH`` by dated ranges, as a whole selector, with PH, or before a weekday.

    ``PH,SH off`` becomes ``PH off; <ranges> off``: two rules with the same meaning, because
    the library cannot mix a holiday and a date range in one selector.
    """
    if not _mentions_sh(expression):
        return expression
    ranges = school_holiday_ranges(year)
    parts = _split_outside_quotes(expression, (";", "||"))
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 1 or not _mentions_sh(part):
            out.append(part)
            continue
        joiner = " || " if index > 0 and parts[index - 1] == "||" else "; "
        out.append(_expand_rule(part, ranges, joiner))
    return "".join(out)


# --- evaluation ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _parse(expression: str, window_year: int) -> OpeningHours:
    expanded = expand_school_holidays(expression, window_year)
    try:
        return OpeningHours(
            expanded, timezone=BRUSSELS, country="BE", max_interval_days=MAX_INTERVAL_DAYS
        )
    except ParserError as error:
        raise HoursError(str(error)) from error


def _open_flag(state: State) -> bool | None:
    if state == State.OPEN:
        return True
    if state == State.CLOSED:
        return False
    return None


def is_open(expression: str | None, at: datetime | None = None) -> bool | None:
    """Open (True), closed (False) or unknown (None) at ``at``; cheaper than ``state_at``."""
    if not expression or not expression.strip():
        return None
    moment = to_brussels(at)
    state, _comment = _parse(expression, moment.year).state(moment)
    return _open_flag(state)


def state_at(expression: str | None, at: datetime | None = None) -> HoursState:
    """The state at ``at`` (default now) and when it next changes, in Brussels time."""
    if not expression or not expression.strip():
        return UNKNOWN_HOURS
    moment = to_brussels(at)
    hours = _parse(expression, moment.year)
    state, _comment = hours.state(moment)
    next_change = hours.next_change(moment)
    return HoursState(
        open_now=_open_flag(state),
        next_change=next_change.astimezone(BRUSSELS) if next_change else None,
        unknown=state == State.UNKNOWN,
    )


def open_time(expression: str | None, start: datetime, end: datetime) -> timedelta:
    """How much of ``start`` .. ``end`` falls within these hours (a bridge worker's working
    time between a parent's message and now). Unknown hours count as none."""
    if not expression or not expression.strip() or end <= start:
        return timedelta(0)
    begin, finish = to_brussels(start), to_brussels(end)
    total = timedelta(0)
    hours = _parse(expression, begin.year)
    for low, high, state, _comment in hours.intervals(begin, finish):
        if state == State.OPEN:
            total += min(high, finish) - max(low, begin)
    return total


# --- editor-friendly checking -------------------------------------------------------------------

_EXPECTED_PHRASES = (
    ("wday", "a day like Mo, Tu, We, Th, Fr, Sa, Su"),
    ("weekday_range", "a day like Mo, Tu, We, Th, Fr, Sa, Su"),
    ("minute", "minutes from 00 to 59"),
    ("hour", "a time like 09:00"),
    ("extended_time", "a time like 09:00"),
    ("time", "a time like 09:00"),
    ("timespan", "a time range like 09:00-12:00"),
    ("any_rule_separator", 'a ";" before the next rule'),
    ("small_range_selectors", "days like Mo-Fr"),
    ("rules_modifier", '"off"'),
    ("holiday", "PH or SH"),
)
_OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_KEYWORDS = ("off", "closed", "open", "unknown", "PH", "SH")
_DAY_WORDS = {
    # Dutch, French and English day names or abbreviations editors type by habit.
    *("ma", "di", "wo", "do", "vr", "za", "zo", "maandag", "dinsdag", "woensdag", "donderdag"),
    *("vrijdag", "zaterdag", "zondag", "lu", "me", "je", "ve", "lun", "mar", "mer"),
    *("jeu", "ven", "sam", "dim", "mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
}


def _expected_phrase(expected: str) -> str:
    names = [name.strip() for name in re.split(r",\s*(?:or\s+)?|\s+or\s+", expected)]
    phrases: list[str] = []
    for key, phrase in _EXPECTED_PHRASES:
        if key in names and phrase not in phrases:
            phrases.append(phrase)
    return " or ".join(phrases[:2])


def _hint(expression: str, column: int, fragment: str, expected: str) -> str | None:
    """A concrete fix for the mistakes editors make most, or None."""
    word_match = re.match(r"[^\W\d_]*", fragment)
    word = word_match.group(0) if word_match else ""
    after_colon = column > 0 and expression[column - 1] == ":"
    if fragment.startswith('"'):
        return 'a comment in quotes must end with a second "'
    if word.lower() in _DAY_WORDS or (len(word) >= 3 and word[:2].title() in _OSM_DAYS):
        return "write days with two letters: Mo, Tu, We, Th, Fr, Sa, Su"
    if after_colon:
        return "minutes go from 00 to 59"
    hour = re.match(r"(\d+):\d\d", fragment)
    if hour and int(hour.group(1)) > 24:
        return "hours go from 00 to 24; for a time after midnight write Fr 20:00-02:00"
    if re.match(r"\d{1,2}\s*[hu.]", fragment):
        return "write times with a colon, like 09:00"
    if re.match(r"\d{1,2}-\d", fragment):
        return "write times with minutes, like 09:00-12:00"
    if hour and "timespan" not in expected:
        return 'separate two time ranges with a comma, like "09:00-12:00,13:00-16:00"'
    if word.isalpha():
        close = difflib.get_close_matches(word, _KEYWORDS, n=1, cutoff=0.5)
        if close and close[0] != word:
            return f'did you mean "{close[0]}"?'
    return None


def _explain_parser_error(expression: str, message: str) -> str:
    position = re.search(r"-->\s*(\d+):(\d+)", message)
    expected_match = re.search(r"=\s*(?:expected|unexpected)\s+(.*)$", message, re.MULTILINE)
    expected = expected_match.group(1) if expected_match else ""
    column = int(position.group(2)) - 1 if position else 0
    column = min(max(column, 0), len(expression))
    while column > 0 and expression[column - 1].isalnum():
        column -= 1  # point at the start of the word, not inside it
    fragment = _split_outside_quotes(expression[column:], (";",))[0].strip()
    if "unexpected normal_rule_separator" in message:
        return (
            f'opening hours "{expression}": there are two ";" in a row, '
            'or a ";" at the start or the end'
        )
    where = f'cannot read "{fragment}"' if fragment else "the text stops too early"
    explanation = _hint(expression, column, fragment, expected)
    if not fragment and expression.rstrip().endswith(";"):
        explanation = 'remove the ";" at the end'
    if explanation is None and _expected_phrase(expected):
        explanation = f"expected {_expected_phrase(expected)}"
    return f'opening hours "{expression}": {where}' + (f" ({explanation})" if explanation else "")


def check_expression(expression: object) -> str | None:
    """None when the hours are valid, else one sentence naming the part an editor must fix."""
    if not isinstance(expression, str):
        return 'opening hours must be text in quotes, like "Mo-Fr 09:00-12:00"'
    return _check_text(str(expression))


@lru_cache(maxsize=4096)
def _check_text(expression: str) -> str | None:
    """Cached: a large map repeats the same few hundred expressions thousands of times."""
    if not expression.strip():
        return "opening hours are empty: leave the field out when the hours are not known"
    try:
        OpeningHours(expression, timezone=BRUSSELS, country="BE")
    except ParserError as error:
        return _explain_parser_error(expression, str(error))
    try:
        _parse(expression, CHECK_YEAR)
    except HoursError as error:
        if "Failed to parse" in str(error):
            return f'opening hours "{expression}": the school holidays (SH) cannot be used here'
        return f'opening hours "{expression}": {error}'
    return None
