"""The bot's read API: nearest help first, in the parent's language, with honest hours."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import pytest

from social_map.build import build_map
from social_map.hours import BRUSSELS
from social_map.schema import NEEDS
from social_map.store import MapError, SocialMap

GOOD = Path(__file__).parent / "fixtures" / "social_map" / "good"
WEDNESDAY_2PM = datetime(2026, 11, 18, 14, 0, tzinfo=BRUSSELS)
TUESDAY_2PM = datetime(2026, 11, 17, 14, 0, tzinfo=BRUSSELS)


@pytest.fixture(scope="module")
def social_map(tmp_path_factory: pytest.TempPathFactory) -> SocialMap:
    db = tmp_path_factory.mktemp("store") / "social_map.db"
    assert build_map(GOOD, db, today=date(2026, 11, 21)).built
    opened = SocialMap.open(db)
    yield opened
    opened.close()


def ids(matches: list) -> list[str]:
    return [m.id for m in matches]


def test_asking_heverlee_gives_heverlee_first(social_map: SocialMap) -> None:
    matches = social_map.find("homework_help", "heverlee", at=WEDNESDAY_2PM, limit=10)
    assert ids(matches) == [
        "huiswerkklas-heverlee",  # in Heverlee
        "studiebegeleiding-leuven",  # city-wide, homework is its main need
        "huiswerkhulp-stad",  # city-wide, homework is a second need
        "huiswerkpunt-kessel-lo",  # elsewhere: open now
        "avondstudie-kessel-lo",  # elsewhere: closed now
        "bijles-kessel-lo",  # elsewhere: hours unknown
    ]
    assert [m.local for m in matches] == [True, False, False, False, False, False]


def test_open_now_before_closed_before_unknown_within_a_tier(social_map: SocialMap) -> None:
    matches = social_map.find("homework_help", "kessel-lo", at=WEDNESDAY_2PM, limit=3)
    assert ids(matches) == ["huiswerkpunt-kessel-lo", "avondstudie-kessel-lo", "bijles-kessel-lo"]
    assert [m.open_now for m in matches] == [True, False, None]
    # On Thursday evening the evening study is open and the Wednesday one is closed.
    thursday_evening = datetime(2026, 11, 19, 18, 30, tzinfo=BRUSSELS)
    later = social_map.find("homework_help", "kessel-lo", at=thursday_evening, limit=3)
    assert ids(later) == ["avondstudie-kessel-lo", "huiswerkpunt-kessel-lo", "bijles-kessel-lo"]


def test_limit_and_city_wide_without_area(social_map: SocialMap) -> None:
    matches = social_map.find("homework_help", at=WEDNESDAY_2PM, limit=2)
    assert ids(matches) == ["studiebegeleiding-leuven", "huiswerkhulp-stad"]
    assert social_map.find("homework_help", "leuven", at=WEDNESDAY_2PM, limit=2) == matches
    assert not any(m.local for m in matches)
    assert social_map.find("homework_help", limit=0) == []


def test_address_and_hours_of_the_location_in_the_asked_area(social_map: SocialMap) -> None:
    (kessel_lo,) = social_map.find("money", "kessel-lo", at=TUESDAY_2PM, limit=1)
    assert kessel_lo.local is True
    assert kessel_lo.address == "Zijstraat 9, 3010 Kessel-Lo"
    assert kessel_lo.location_area == "kessel-lo"
    assert kessel_lo.opening_hours == "Tu 13:30-16:00; PH off"
    assert kessel_lo.open_now is True
    assert kessel_lo.next_change == datetime(2026, 11, 17, 16, 0, tzinfo=BRUSSELS)
    (centre,) = social_map.find("money", "heverlee", at=TUESDAY_2PM, limit=1)
    assert centre.local is False
    assert centre.address == "Hoofdstraat 47, 3000 Leuven"
    assert centre.open_now is False
    assert centre.next_change == datetime(2026, 11, 18, 9, 0, tzinfo=BRUSSELS)


def test_all_contact_fields(social_map: SocialMap) -> None:
    match = social_map.get("ocmw-test", lang="en", at=TUESDAY_2PM)
    assert match.phones == ("016 24 80 11",)
    assert match.whatsapp == "+32 470 00 00 00"
    assert match.email == "onthaal@example.org" and match.url == "https://example.org/ocmw"
    assert match.languages == ("nl", "fr", "en")
    assert match.application_process == ("walk_in", "appointment")
    assert match.cost == "free"
    assert match.last_verified == date(2026, 11, 20)
    assert match.sources == ("https://example.org/ocmw/schoolkosten",)
    assert match.needs == ("money", "school_costs", "paperwork") and match.areas == ("leuven",)


def test_language_fallback_is_flagged(social_map: SocialMap) -> None:
    arabic = social_map.get("huiswerkklas-heverlee", lang="ar")
    assert arabic.name == "قسم الواجبات المدرسية هيفرلي" and arabic.name_lang == "ar"
    assert arabic.description_lang == "ar"
    assert arabic.application_description == "Kom gewoon langs met je kind."  # nl fallback
    fallback = social_map.get("ocmw-test", lang="ar")
    assert (fallback.name, fallback.name_lang) == ("OCMW Test", "nl")
    assert fallback.description_lang == "nl"
    english = social_map.get("ocmw-test", lang="en")
    assert (english.name_lang, english.description_lang) == ("en", "en")
    french = social_map.get("sociale-kruidenier", lang="fr")
    assert french.name == "Épicerie sociale" and french.fees_description.startswith("Je betaalt")
    assert french.eligibility_description.startswith("Pour les familles")


def test_hours_unknown_and_always_open(social_map: SocialMap) -> None:
    unknown = social_map.get("bib-heverlee", at=TUESDAY_2PM)
    assert unknown.opening_hours is None and unknown.open_now is None
    assert unknown.next_change is None
    always = social_map.get("tele-onthaal", at=TUESDAY_2PM)
    assert always.open_now is True and always.next_change is None
    assert always.phones == ("106", "116 000") and always.type == "helpline"


def test_get_unknown_service(social_map: SocialMap) -> None:
    assert social_map.get("does-not-exist") is None


def test_default_time_is_now_in_brussels(social_map: SocialMap) -> None:
    match = social_map.get("huiswerkklas-heverlee")
    assert match.next_change is not None
    assert match.next_change.tzinfo is not None and match.next_change > datetime.now(BRUSSELS)


@pytest.mark.parametrize(
    ("text", "lang", "expected_first"),
    [
        ("huiswerkklas", "nl", "huiswerkklas-heverlee"),
        ("goedkope voeding", "nl", "sociale-kruidenier"),
        ("épicerie", "fr", "sociale-kruidenier"),
        ("epicerie", "fr", "sociale-kruidenier"),  # accents do not matter
        ("devoirs", "fr", "huiswerkklas-heverlee"),
        ("واجبات", "ar", "huiswerkklas-heverlee"),
        ("الوَاجِبَات", "ar", "huiswerkklas-heverlee"),  # vowel marks and article ignored
        ("مدرسة", "ar", "huiswerkklas-heverlee"),  # ta marbuta and article
        ("بقالة", "ar", "sociale-kruidenier"),
        ("welfare office", "en", "ocmw-test"),
    ],
)
def test_full_text_search_in_four_languages(
    social_map: SocialMap, text: str, lang: str, expected_first: str
) -> None:
    matches = social_map.search(text, lang=lang)
    assert matches and matches[0].id == expected_first


def test_search_falls_back_to_any_word_and_resolves_language(social_map: SocialMap) -> None:
    matches = social_map.search("bakkerij huiswerkklas", lang="fr")
    assert ids(matches) == ["huiswerkklas-heverlee"]
    assert matches[0].name == "Classe de devoirs Heverlee" and matches[0].name_lang == "fr"
    assert social_map.search("xyzzy") == [] and social_map.search("  ") == []
    assert len(social_map.search("huiswerk", limit=2)) == 2


def test_needs_with_services(social_map: SocialMap) -> None:
    served = social_map.needs_with_services()
    assert {"homework_help", "food", "money", "safety_crisis"} <= served
    assert served <= set(NEEDS) and "housing" not in served


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"need": "scool_costs"}, 'unknown need "scool_costs" (did you mean "school_costs"?)'),
        ({"need": "food", "area": "heverle"}, 'unknown area "heverle" (did you mean "heverlee"?)'),
        ({"need": "food", "lang": "de"}, 'unknown language "de"'),
    ],
)
def test_unknown_ids_are_refused_with_a_suggestion(
    social_map: SocialMap, kwargs: dict, message: str
) -> None:
    with pytest.raises(MapError) as error:
        social_map.find(**kwargs)
    assert str(error.value) == message or message in str(error.value)


def test_shared_between_threads(social_map: SocialMap) -> None:
    def ask(index: int) -> list[str]:
        area = ("heverlee", "kessel-lo", None)[index % 3]
        return ids(social_map.find("homework_help", area, at=WEDNESDAY_2PM))

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, range(60)))
    assert answers[0][0] == "huiswerkklas-heverlee" and answers[1][0] == "huiswerkpunt-kessel-lo"
    assert all(answer == answers[i % 3] for i, answer in enumerate(answers))


def test_open_refuses_missing_or_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="wegwijs map build"):
        SocialMap.open(tmp_path / "missing.db")
    other = tmp_path / "other.db"
    other.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ValueError, match="not a social map database"):
        SocialMap.open(other)
