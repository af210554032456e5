"""Checks of single values (phone, e-mail, web address, id, date), phrased for editors.

Each check returns None when the value is fine, or one plain-English sentence saying what is
wrong and how it should look. Keeping them free of YAML and line numbers makes them easy to test
and to reuse (the bot may one day validate a number a bridge worker types in).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import date
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ./()-]+$")
_SEPARATORS = re.compile(r"[ ./()-]")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

PHONE_EXAMPLES = 'like "016 24 80 11", "0470 12 34 56", "0800 12 345" or "+32 16 24 80 11"'


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean "x"?)`` for a likely typo, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def check_slug(value: str) -> str | None:
    if _SLUG.match(value):
        return None
    return (
        f'id "{value}" may only contain lowercase letters, digits and single hyphens, '
        'like "huis-van-het-kind-leuven"'
    )


def _national_digits(number: str) -> str | None:
    """The number as national digits (``016248011``), or None when it is not Belgian."""
    compact = _SEPARATORS.sub("", number.replace("(0)", ""))
    if compact.startswith("+32"):
        return "0" + compact[3:]
    if compact.startswith("0032"):
        return "0" + compact[4:]
    if compact.startswith(("+", "00")):
        return None
    return compact


def is_short_number(number: str) -> bool:
    digits = _SEPARATORS.sub("", number)
    return digits.isdigit() and 3 <= len(digits) <= 6 and not digits.startswith("0")


def check_phone(number: str, *, allow_short: bool) -> str | None:
    """Belgian phone rules: 0 + 8 digits (landline, 0800, 0900, 070, 078), 04 + 8 (mobile),
    the same after +32, or a short number (112, 1712, 116 000) for helplines only."""
    if not _PHONE_CHARS.match(number) or not any(c.isdigit() for c in number):
        return f'phone number "{number}" may only contain digits, spaces and a leading +'
    if is_short_number(number):
        if allow_short:
            return None
        return (
            f'short number "{number}" is only allowed for a helpline (type: helpline); '
            f"give the full number, {PHONE_EXAMPLES}"
        )
    digits = _national_digits(number)
    if digits is None:
        return f'phone number "{number}" is not a Belgian number; it must start with 0 or +32'
    if not digits.startswith("0") or digits.startswith("00"):
        return f'phone number "{number}" is not complete: start it with 0 or +32'
    if len(digits) == 9:
        return None
    if len(digits) == 10 and digits.startswith("04"):
        return None
    if len(digits) == 10:
        return (
            f'phone number "{number}" has one digit too many: only mobile numbers (04..) '
            "have 10 digits"
        )
    return (
        f'phone number "{number}" has {len(digits)} digits; a Belgian number has 9 '
        f"(10 for a mobile number), {PHONE_EXAMPLES}"
    )


def phone_e164(number: str) -> str | None:
    """``+3216248011`` for tel: links, or None for short numbers (dialled as written)."""
    if is_short_number(number):
        return None
    digits = _national_digits(number)
    return f"+32{digits[1:]}" if digits and digits.startswith("0") else None


def check_email(value: str) -> str | None:
    if value.lower().startswith("mailto:"):
        return f'e-mail address "{value}": leave out "mailto:"'
    if _EMAIL.match(value):
        return None
    return f'"{value}" is not a valid e-mail address; it should look like info@example.be'


def check_url(value: str) -> str | None:
    if " " in value.strip():
        return f'web address "{value}" contains a space'
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        return f'web address "{value}" must start with https:// (or http://)'
    host = parts.hostname or ""
    if "." not in host:
        return f'web address "{value}" has no valid site name after https://'
    return None


def parse_date(value: object) -> date | None:
    """A date written as YYYY-MM-DD (quoted or not), or None."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def check_language_code(code: str) -> str | None:
    """A two-letter ISO 639-1 code of a language staff speak (any language, not only ours)."""
    if re.fullmatch(r"[a-z]{2}", code):
        try:
            Locale.parse(code)
            return None
        except (UnknownLocaleError, ValueError):
            pass
    return f'"{code}" is not a language code; use two lowercase letters, like nl, fr, en, ar, tr'
