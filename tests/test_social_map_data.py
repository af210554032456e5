"""The real map in social_map/data: valid, complete enough, and holding the services the bot names.

These ids are referred to by the conversation code (crisis numbers, handover to OCMW, CAW, ...),
so losing one must fail the build instead of silently answering less.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from e2e import map_checked_on

from bot.paths import MAP_DATA_DIR, PROJECT_ROOT
from social_map.build import build_map
from social_map.loader import load_map
from social_map.schema import NEEDS
from social_map.store import SocialMap

REQUIRED_IDS = (
    "ocmw-leuven",
    "caw-oost-brabant",
    "huis-van-het-kind-leuven",
    "kirikou",
    "ldc-ruelenspark",
    "solikoop",
    "uitpas-leuven",
    "iedereen-verdient-vakantie",
    "huurdersbond-vlaams-brabant",
    "clb-leuven",
    "bib-leuven",
    "de-nomade",
    "lampeke",
    "kinderkuren",
    "leuven-helpt",
    "iedereen-digitaal-leuven",
    "helpline-1712",
    "helpline-106",
    "helpline-1813",
    "emergency-112",
)

pytestmark = pytest.mark.skipif(
    not any(MAP_DATA_DIR.glob("*.yml")), reason="social_map/data has no map files yet"
)


@pytest.fixture(scope="module")
def social_map(tmp_path_factory: pytest.TempPathFactory) -> SocialMap:
    db = tmp_path_factory.mktemp("real") / "social_map.db"
    result = build_map(MAP_DATA_DIR, db, today=map_checked_on())
    assert result.built, "\n".join(str(p) for p in result.errors)
    opened = SocialMap.open(db)
    yield opened
    opened.close()


def test_map_check_reports_no_errors() -> None:
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "wegwijs"),
            *("map", "check", "--today", map_checked_on().isoformat(), "social_map/data"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert " 0 errors" in completed.stdout or "no problems" in completed.stdout


def test_at_least_forty_services(social_map: SocialMap) -> None:
    assert social_map.meta()["count"] >= 40


def test_every_need_is_served(social_map: SocialMap) -> None:
    assert set(NEEDS) - social_map.needs_with_services() == set()
    for need in NEEDS:
        assert social_map.find(need, "heverlee"), need


def test_required_services_exist() -> None:
    ids = {record["id"] for record in load_map(MAP_DATA_DIR, today=map_checked_on()).services}
    assert sorted(set(REQUIRED_IDS) - ids) == []


def test_emergency_numbers_are_helplines(social_map: SocialMap) -> None:
    expected = {"emergency-112": "112", "helpline-1712": "1712", "helpline-106": "106"}
    expected["helpline-1813"] = "1813"
    for service_id, number in expected.items():
        match = social_map.get(service_id)
        assert match is not None and match.type == "helpline", service_id
        assert number in {phone.replace(" ", "") for phone in match.phones}, service_id
        assert "safety_crisis" in match.needs, service_id
