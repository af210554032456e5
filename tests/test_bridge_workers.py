"""The bridge workers file and routing: school first, then area, then language, then on duty."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.handoff.routing import route
from bot.handoff.workers import SAMPLE_FILE, BridgeWorker, Team, WorkersError, load_team, parse_team

BRUSSELS = ZoneInfo("Europe/Brussels")
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=BRUSSELS)
SATURDAY_10 = datetime(2026, 11, 28, 10, 0, tzinfo=BRUSSELS)


def worker(name: str, uid: int, **kw: object) -> BridgeWorker:
    values: dict[str, object] = {"languages": ("nl",), "hours": "Mo-Fr 09:00-17:00"}
    values.update(kw)
    return BridgeWorker(first_name=name, telegram_user_id=uid, **values)  # type: ignore[arg-type]


def test_the_sample_file_loads_and_has_invented_people_only() -> None:
    team = load_team(SAMPLE_FILE)
    assert [w.first_name for w in team.active] == ["Samira", "Jonas", "Nadia"]
    assert all(900000000 < (w.telegram_user_id or 0) < 900000100 for w in team.workers)
    assert [w.key for w in team.workers] == ["samira", "jonas", "nadia", "pieter"]
    assert [w.first_name for w in team.coordinators] == ["Nadia"]
    assert "INVENTED" in SAMPLE_FILE.read_text(encoding="utf-8")


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "workers.yml"
    path.write_text(
        "workers:\n"
        "  - first_name: Ann\n"
        "    languages: [nl, de]\n"
        "    areas: [heverlee, paris]\n"
        "    hours: Mo-Fr 25:00-17:00\n"
        "    telegram_user_id: abc\n"
        "    favourite_colour: blue\n"
        "  - first_name: Bob\n"
        "    languages: nl\n"
        "    hours: Mo-Fr 09:00-17:00\n"
        "    telegram_user_id: 5\n"
        "    active: yes please\n",
        encoding="utf-8",
    )
    with pytest.raises(WorkersError) as caught:
        load_team(path)
    message = str(caught.value)
    for expected in (
        "worker 1 (Ann): unknown field `favourite_colour`",
        "unknown language `de`",
        "unknown area `paris`",
        "telegram_user_id must be",
        "worker 1 (Ann): hours:",
        "worker 2 (Bob): active must be true or false",
    ):
        assert expected in message
    assert "Traceback" not in message


def test_broken_yaml_and_a_missing_file_get_clear_messages(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("workers: [first_name: {", encoding="utf-8")
    with pytest.raises(WorkersError, match="not valid YAML"):
        load_team(bad)
    with pytest.raises(WorkersError, match="cannot read"):
        load_team(tmp_path / "missing.yml")
    with pytest.raises(WorkersError, match="list `workers:`"):
        parse_team({"people": []})


def test_routing_prefers_school_then_area_then_language() -> None:
    school = worker("Sofie", 1, schools=("vbs-heilig-hart-heverlee",), languages=("nl",))
    area = worker("Ali", 2, areas=("heverlee",), languages=("nl", "ar"))
    arabic = worker("Karim", 3, languages=("ar", "fr"))
    team = Team((school, area, arabic))
    both = route(
        team, at=TUESDAY_10, language="ar", area="heverlee", school="vbs-heilig-hart-heverlee"
    )
    assert both is not None and (both.worker.first_name, both.why) == ("Sofie", "school")
    by_area = route(team, at=TUESDAY_10, language="ar", area="heverlee")
    assert by_area is not None and (by_area.worker.first_name, by_area.why) == ("Ali", "area")
    by_language = route(team, at=TUESDAY_10, language="fr", area="kessel-lo")
    assert by_language is not None and (by_language.worker.first_name, by_language.why) == (
        "Karim",
        "language",
    )
    anyone = route(team, at=TUESDAY_10, language="en")
    assert anyone is not None and anyone.why == "on duty" and anyone.available_now


def test_routing_says_when_the_worker_starts_and_spreads_the_load() -> None:
    a = worker("Ann", 1, areas=("wilsele",))
    b = worker("Bert", 2, areas=("wilsele",))
    team = Team((a, b))
    weekend = route(team, at=SATURDAY_10, language="nl", area="wilsele")
    assert weekend is not None and not weekend.available_now
    assert weekend.available_at == datetime(2026, 11, 30, 9, 0, tzinfo=BRUSSELS)
    busy = route(team, at=TUESDAY_10, language="nl", area="wilsele", load={"ann": 3})
    assert busy is not None and busy.worker.first_name == "Bert"


def test_urgent_goes_to_someone_on_duty_now() -> None:
    school = worker("Sofie", 1, schools=("don-bosco-sint-lambertus",), hours="Mo 09:00-12:00")
    duty = worker("Dirk", 2, hours="24/7")
    team = Team((school, duty))
    normal = route(team, at=TUESDAY_10, language="nl", school="don-bosco-sint-lambertus")
    assert normal is not None and normal.worker.first_name == "Sofie" and not normal.available_now
    urgent = route(
        team, at=TUESDAY_10, language="nl", school="don-bosco-sint-lambertus", urgent=True
    )
    assert urgent is not None and urgent.worker.first_name == "Dirk" and urgent.available_now


def test_inactive_workers_get_nothing_and_have_no_rights() -> None:
    away = worker("Pieter", 4, active=False, languages=("fr",))
    here = worker("Jonas", 5)
    team = Team((away, here))
    chosen = route(team, at=TUESDAY_10, language="fr")
    assert chosen is not None and chosen.worker.first_name == "Jonas"
    assert team.by_user(4) is None and team.by_user(5) is here and team.by_user(None) is None
