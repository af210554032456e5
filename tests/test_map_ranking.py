"""Ranking within a need by what the parent said, the child's age and the time; end dates;
explainers; the checks editors get. On a small fixture map (tests/fixtures/social_map/ranked)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from social_map.build import build_map
from social_map.coverage import coverage, coverage_markdown
from social_map.hours import BRUSSELS
from social_map.loader import load_map
from social_map.ranking import Query, child_age
from social_map.store import SocialMap
from social_map.terms import Vocabulary, arabizi_skeleton, expand, words

RANKED = Path(__file__).parent / "fixtures" / "social_map" / "ranked"
TODAY = date(2026, 11, 21)
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)
TUESDAY_22 = datetime(2026, 11, 24, 22, 0, tzinfo=BRUSSELS)


@pytest.fixture(scope="module")
def social_map(tmp_path_factory: pytest.TempPathFactory) -> SocialMap:
    db = tmp_path_factory.mktemp("ranked") / "social_map.db"
    assert build_map(RANKED, db, today=TODAY).built
    opened = SocialMap.open(db)
    yield opened
    opened.close()


def ids(matches: list) -> list[str]:
    return [m.id for m in matches]


def ask(social_map: SocialMap, need: str, text: str, area: str | None = "heverlee", **kw):
    query = Query.from_message(text, kw.pop("age", None))
    return social_map.find(
        need, area, kw.pop("lang", "nl"), kw.pop("at", TUESDAY_10), 3, query=query
    )


def test_without_words_the_nearest_comes_first(social_map: SocialMap) -> None:
    assert ids(social_map.find("housing", "heverlee", at=TUESDAY_10, limit=3)) == [
        "crisisopvang-test",  # in Heverlee
        "huurdersbond-test",  # city-wide, housing is its main need (then by name)
        "woonanker-test",
    ]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("er zit schimmel op de muur", "nl"),
        ("de huisbaas geeft de huurwaarborg niet terug", "nl"),  # a compound
        ("il y a de la moisissure partout", "fr"),
        ("the bedroom is damp and mouldy", "en"),
        ("الدار فيها الرطوبة", "ar"),
        ("فالرطوبة", "ar"),  # preposition glued on
        ("dar fiha rtoba bzaf", "ar"),  # Arabizi, another spelling
        ("mol ddar ma bgha yslah walo", "ar"),
    ],
)
def test_words_put_the_right_service_first_over_a_nearer_one(
    social_map: SocialMap, text: str, lang: str
) -> None:
    first = ask(social_map, "housing", text, lang=lang)[0]
    assert first.id == "huurdersbond-test"
    assert first.matched  # the why-line has what matched


def test_eviction_goes_to_the_housing_search_help(social_map: SocialMap) -> None:
    assert ids(ask(social_map, "housing", "we got an eviction notice"))[0] == "woonanker-test"
    assert ask(social_map, "housing", "we got an eviction notice")[0].matched == ("eviction",)


def test_the_childs_age_counts(social_map: SocialMap) -> None:
    baby = ask(social_map, "childcare", "opvang voor mijn baby van 6 maanden")
    assert ids(baby)[0] == "creche-test" and baby[0].age_fit is True
    school_child = ask(social_map, "childcare", "opvang na school", age=7)
    assert ids(school_child)[0] == "opvang-school-test"
    assert [m.age_fit for m in school_child] == [True, False]


def test_after_hours_the_open_service_comes_first_and_it_is_said(
    social_map: SocialMap,
) -> None:
    query = Query.from_message("mijn kind heeft koorts")
    day = social_map.rank("health", "kessel-lo", "nl", TUESDAY_10, 3, query=query)
    assert ids(day.matches)[0] == "wgc-test" and not day.after_hours
    night = social_map.rank("health", "kessel-lo", "nl", TUESDAY_22, 3, query=query)
    assert ids(night.matches)[0] == "wachtpost-test" and night.after_hours
    assert night.matches[0].open_now is True


def test_an_ended_service_is_never_shown(social_map: SocialMap) -> None:
    assert ids(ask(social_map, "paperwork", "een brief")) == ["brugfiguur-test"]
    before = ask(social_map, "paperwork", "een brief", at=datetime(2025, 6, 1, tzinfo=BRUSSELS))
    assert "oud-project" in ids(before)
    assert "oud-project" not in ids(social_map.search("brief", at=TUESDAY_10))
    ended = social_map.get("oud-project")
    assert ended is not None and ended.end_date == date(2025, 6, 30)


def test_query_keeps_map_words_only_and_round_trips(social_map: SocialMap) -> None:
    query = Query.from_message("Ik ben Fatima en er is schimmel, dringend!", 4)
    assert query.urgent and query.age == 4
    kept = social_map.topic(query)
    assert kept.words == ("schimmel",)
    assert Query.load(kept.dump()) == kept
    assert Query.load(None) is None


@pytest.mark.parametrize(
    ("text", "entity", "age"),
    [
        ("a place for my baby of 6 months", 6, 0),
        ("mon bébé de 10 mois", None, 0),
        ("بنتي عندها 18 شهر", None, 1),
        ("mijn zoon van 9 jaar", None, 9),
        ("wldi 3ando 3 snin", None, 3),
        ("my son is 7", 7, 7),
        ("no age here", None, None),
    ],
)
def test_child_age(text: str, entity: int | None, age: int | None) -> None:
    assert child_age(text, entity) == age


def test_arabizi_spellings_share_a_skeleton() -> None:
    assert arabizi_skeleton("lmadrasa") == arabizi_skeleton("madrassa") == "~mdrs"
    assert arabizi_skeleton("rtouba") == arabizi_skeleton("rtoba")
    assert arabizi_skeleton("kera") is None  # too short to be safe
    assert words("Bonjour, je suis à la maison") == ["maison"]  # stop words dropped


def test_partial_matches_count_less() -> None:
    vocabulary = Vocabulary.of(["vaccinatie", "waarborg", "school"])
    assert 0 < expand("vaccins", vocabulary)["vaccinatie"] < 1
    assert 0 < expand("huurwaarborg", vocabulary)["waarborg"] < 1
    assert expand("school", vocabulary)["school"] == 1.0


def test_explainers(social_map: SocialMap) -> None:
    found = social_map.explain("hoe moet ik mijn kind inschrijven?", "en", threshold=1.0)
    assert found is not None and found.id == "hoe-inschrijven"
    assert (found.title, found.text_lang) == ("Enrolling in a school", "en")
    arabic = social_map.explain("كيفاش التسجيل فالمدرسة", "ar", threshold=1.0)
    assert arabic is not None and arabic.text_lang == "nl"  # Dutch fallback, flagged
    assert social_map.explain("ik wil pizza", "nl", threshold=1.0) is None
    assert [e.id for e in social_map.explainers("nl")] == ["hoe-inschrijven"]
    assert social_map.explainer("nope") is None


def test_map_check_warns_about_ended_entries_still_referenced() -> None:
    result = load_map(RANKED, today=TODAY)
    assert result.ok and len(result.explainers) == 1
    messages = [p.message for p in result.warnings]
    assert any('service "oud-project" ended on 2025-06-30' in m for m in messages)
    assert not any("brugfiguur-test" in m for m in messages)  # it still exists


def test_map_check_on_the_new_fields(tmp_path: Path) -> None:
    base = (RANKED / "woonanker-test.yml").read_text(encoding="utf-8")
    (tmp_path / "woonanker-test.yml").write_text(
        base.replace("phones:", "end_date: not-a-date\nreplaced_by: nobody\nphonez:").replace(
            "  nl: [uithuiszetting", "  xx: [a]\n  nl: [uithuiszetting"
        ),
        encoding="utf-8",
    )
    (tmp_path / "kaal.yml").write_text(
        "id: kaal\nname: {nl: Kaal}\ndescription: {nl: Niets.}\nneeds: [food]\n"
        "areas: [leuven]\nkeywords: schimmel\nsource: [{url: 'https://example.org'}]\n"
        "last_verified: 2026-11-01\n",
        encoding="utf-8",
    )
    problems = load_map(tmp_path, today=TODAY).problems
    text = "\n".join(str(p) for p in problems)
    assert 'end_date "not-a-date" is not a date' in text
    assert 'unknown language "xx" in "keywords"' in text
    assert '"keywords" needs a list of words per language' in text
    (tmp_path / "woonanker-test.yml").write_text(
        base.replace("phones:", "replaced_by: nobody\nphones:"), encoding="utf-8"
    )
    (tmp_path / "kaal.yml").unlink()
    warnings = [str(p) for p in load_map(tmp_path, today=TODAY).warnings]
    assert any('replaced_by "nobody": no such entry' in w for w in warnings)


def test_map_check_warns_when_parents_cannot_reach_a_service() -> None:
    warnings = [p for p in load_map(RANKED, today=TODAY).warnings if "neither a phone" in p.message]
    assert [Path(p.path).name for p in warnings] == []  # every fixture has a phone or address
    result = load_map(Path(__file__).parent / "fixtures" / "social_map" / "good", today=TODAY)
    assert not any("neither a phone" in p.message for p in result.warnings)


def test_coverage_report_counts_per_need_and_area() -> None:
    services = load_map(RANKED, today=TODAY).services
    table = coverage(services, today=TODAY)
    assert table.ended == 1  # oud-project
    assert table.by_need["health"].services == 2 and table.by_need["health"].hours == 2
    assert table.need_area[("health", "kessel-lo")] == 1
    assert table.by_area["heverlee"].address == 1
    text = coverage_markdown(table, today=TODAY)
    assert "| health | 2 | 2 | 1 | 1 | 2 | 2 |" in text
