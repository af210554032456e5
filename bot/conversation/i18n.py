"""Translations (gettext catalogs in ``locales/``) and locale-aware formatting with Babel.

Source strings are English. Catalogs: ``locales/<lang>/LC_MESSAGES/wegwijs.po``, compiled to
``.mo`` by ``make`` (``pybabel compile``). Arabic replies embed Dutch names, addresses and
phone numbers; :meth:`Lang.ltr` wraps those in Unicode bidi isolates so they stay readable.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_time
from babel.support import NullTranslations, Translations

from bot.paths import LOCALES_DIR

DOMAIN = "wegwijs"
LANGUAGES = ("nl", "ar", "fr", "en")
# Babel locales: Belgian Dutch and French; Moroccan Arabic keeps Latin digits, which match the
# phone numbers and addresses a parent will see on the street.
BABEL_LOCALE = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_BE", "ar": "ar_MA"}
FSI, LRI, PDI = "\u2068", "\u2066", "\u2069"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@lru_cache(maxsize=8)
def _translations(lang: str) -> NullTranslations:
    return Translations.load(str(LOCALES_DIR), [lang], DOMAIN)


class Lang:
    """Everything language-dependent for one reply: gettext, Babel formatting, bidi."""

    def __init__(self, code: str) -> None:
        self.code = code if code in LANGUAGES else "nl"
        self.locale = Locale.parse(BABEL_LOCALE[self.code])
        self._t = _translations(self.code)

    @property
    def rtl(self) -> bool:
        return self.code == "ar"

    def _(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def ltr(self, value: str) -> str:
        """Isolate an embedded value (a name, address, number) inside right-to-left text."""
        if not self.rtl or not value:
            return value
        return f"{FSI}{value}{PDI}"

    def number(self, value: str) -> str:
        """Phone numbers and times are always left-to-right runs."""
        return f"{LRI}{value}{PDI}" if self.rtl else value

    def time(self, when: datetime) -> str:
        return self.number(format_time(when, "short", locale=self.locale))

    def weekday(self, when: date) -> str:
        return format_date(when, "EEEE", locale=self.locale)

    def day(self, when: date) -> str:
        return format_date(when, "d MMMM", locale=self.locale)

    def when(self, moment: datetime, now: datetime) -> str:
        """'today at 9:00', 'tomorrow at 9:00', 'Tuesday at 9:00' or '3 January at 9:00'."""
        days = (moment.date() - now.date()).days
        time = self.time(moment)
        if days == 0:
            return self._("today at {time}").format(time=time)
        if days == 1:
            return self._("tomorrow at {time}").format(time=time)
        if days < 7:
            return self._("{weekday} at {time}").format(weekday=self.weekday(moment), time=time)
        return self._("{date} at {time}").format(date=self.day(moment), time=time)
