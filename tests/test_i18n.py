"""Every message the bot says is translated in every language, with the right plurals."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.conversation.i18n import FSI, LRI, PDI, Lang

ROOT = Path(__file__).parent.parent
LOCALES = ROOT / "locales"
LANGS = ("nl", "ar", "fr", "en")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalog(lang: str):  # type: ignore[no-untyped-def]
    with (LOCALES / lang / "LC_MESSAGES" / "wegwijs.po").open("rb") as f:
        return read_po(f, locale=lang)


def test_the_template_matches_the_code(tmp_path: Path) -> None:
    """A string added to the code without `pybabel extract` would silently stay English."""
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "N_",
            "-k",
            "ngettext:1,2",
            "--no-location",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as f:
        in_code = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    with (LOCALES / "wegwijs.pot").open("rb") as f:
        in_template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert in_code == in_template, "run the pybabel extract/update steps in docs/translations.md"


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(lang: str) -> None:
    with (LOCALES / "wegwijs.pot").open("rb") as f:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    messages = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog(lang) if m.id}
    assert wanted <= set(messages), f"missing in {lang}: {sorted(wanted - set(messages))}"
    for msgid in wanted:
        message = messages[msgid]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"{lang}: no translation for {msgid!r}"
        assert not message.fuzzy, f"{lang}: fuzzy translation for {msgid!r}"


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_survive_translation(lang: str) -> None:
    for message in catalog(lang):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[1]
        wanted = set(PLACEHOLDER.findall(source))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for translated in strings:
            extra = set(PLACEHOLDER.findall(translated)) - wanted
            assert not extra, f"{lang}: unknown placeholder {extra} in {translated!r}"
            if not isinstance(message.id, tuple):
                assert set(PLACEHOLDER.findall(translated)) == wanted, (lang, translated)


def test_arabic_has_six_plural_forms_and_uses_them() -> None:
    ar = Lang("ar")
    single, plural = "I found {n} place for you ({topic}):", "I found {n} places for you ({topic}):"
    forms = {n: ar.ngettext(single, plural, n) for n in (1, 2, 3, 11, 100)}
    assert len(set(forms.values())) == 5, forms  # one, two, few, many, other all differ
    assert catalog("ar").num_plurals == 6


def test_dutch_and_french_plurals() -> None:
    single, plural = "I found {n} place for you ({topic}):", "I found {n} places for you ({topic}):"
    for lang in ("nl", "fr", "en"):
        t = Lang(lang)
        assert t.ngettext(single, plural, 1) != t.ngettext(single, plural, 3)


def test_times_and_days_follow_the_locale() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tuesday = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    assert Lang("nl").weekday(tuesday) == "dinsdag"
    assert Lang("fr").weekday(tuesday) == "mardi"
    assert Lang("en").weekday(tuesday) == "Tuesday"
    assert Lang("ar").weekday(tuesday) == "الثلاثاء"
    assert Lang("ar").time(tuesday) == f"{LRI}09:00{PDI}"


def test_bidi_isolates_only_in_arabic() -> None:
    assert Lang("ar").ltr("Savoyestraat") == f"{FSI}Savoyestraat{PDI}"
    assert Lang("nl").ltr("Savoyestraat") == "Savoyestraat"
    assert Lang("fr").number("016 24 80 11") == "016 24 80 11"
