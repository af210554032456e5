"""The real Rasa server: intents, the area entity with synonyms, and the model cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.nlu import training
from bot.nlu.client import NLUClient
from bot.nlu.understand import INTENTS

pytestmark = pytest.mark.rasa


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("ik zoek een crèche in kessello", "kessel-lo"),
        ("je cherche une école de devoirs à Heverlee", "heverlee"),
        ("we live in 3012 and need food", "wilsele"),
        ("ana sakna f wijgmaal w bghit khedma", "wijgmaal"),
    ],
)
async def test_rasa_finds_the_area_and_maps_it_to_the_id(
    rasa_url: str, text: str, area: str
) -> None:
    client = NLUClient(rasa_url, timeout=5.0)
    parse = await client.parse(text)
    await client.aclose()
    assert parse is not None
    assert ("area", area) in {(e.entity, e.value) for e in parse.entities}


async def test_rasa_ranks_only_intents_of_the_contract(rasa_url: str) -> None:
    client = NLUClient(rasa_url, timeout=5.0)
    parse = await client.parse("hallo")
    await client.aclose()
    assert parse is not None and parse.intent == "greet"
    names = {name for name, _ in parse.ranking}
    assert len(names) == 10  # Rasa ranks the ten most likely intents
    assert names <= set(INTENTS)  # the needs, how_it_works and the conversational intents


def test_the_model_is_reused_when_nothing_changed(rasa_url: str) -> None:
    result = training.train(quiet=True)  # the session fixture trained (or reused) it already
    assert result.trained is False
    assert result.model.exists()


def test_the_fingerprint_follows_config_and_data(tmp_path: Path) -> None:
    project = tmp_path / "nlu"
    shutil.copytree(training.NLU_PROJECT, project, ignore=shutil.ignore_patterns(".venv", ".rasa"))
    before = training.fingerprint(project)
    assert training.fingerprint(project) == before
    data = project / "data" / "nlu_nl.yml"
    data.write_text(data.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert training.fingerprint(project) != before
    (project / "test_data" / "nlu_nl.yml").write_text("changed", encoding="utf-8")
    changed = training.fingerprint(project)
    assert changed == training.fingerprint(project)  # the test split does not shape the model
