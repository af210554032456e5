"""`wegwijs map report`, `map find --text` and `map eval` as editors and developers run them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main as wegwijs_cli
from social_map.evaluate import load_items

RELEVANCE = Path(__file__).parent / "data" / "relevance"


def test_report_counts_per_need_and_area(tmp_path: Path) -> None:
    out = tmp_path / "coverage.md"
    result = CliRunner().invoke(wegwijs_cli, ["map", "report", "--markdown", str(out)])
    assert result.exit_code == 0, result.output
    assert "## Per need" in result.output and "| legal |" in result.output
    assert "1 ended entries left out" in result.output  # Unelma
    assert out.read_text(encoding="utf-8").startswith("# Social map coverage")


def test_find_with_a_message_says_what_matched(map_db: Path) -> None:
    args = ["map", "find", "--need", "housing", "--area", "heverlee", "--db", str(map_db)]
    result = CliRunner().invoke(wegwijs_cli, [*args, "--text", "mould and damp", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1. ") and "Matched: " in result.output
    assert "mould" in result.output.split("Matched: ")[1].splitlines()[0]


def test_eval_given_the_need_on_the_tuning_set(map_db: Path) -> None:
    result = CliRunner().invoke(
        wegwijs_cli, ["map", "eval", "--set", "dev", "--no-e2e", "--db", str(map_db)]
    )
    assert result.exit_code == 0, result.output
    assert "### Given the labelled need (dev.yml)" in result.output
    assert "| ar-latn |" in result.output


def test_relevance_sets_cover_every_need_and_language() -> None:
    test = load_items(RELEVANCE / "test.yml")
    assert len(test) >= 120
    assert {item.lang for item in test} == {"nl", "fr", "en", "ar", "ar-latn"}
    assert len({item.need for item in test}) == 17
    dev_texts = {item.text for item in load_items(RELEVANCE / "dev.yml")}
    assert not dev_texts & {item.text for item in test}  # the held-out set stays apart


def test_eval_end_to_end_through_the_real_rasa(
    map_db: Path, rasa_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path that writes the end-to-end figures of docs/map-relevance.md runs."""
    monkeypatch.setenv("NLU_URL", rasa_url)
    result = CliRunner().invoke(
        wegwijs_cli, ["map", "eval", "--set", "dev", "--e2e", "--no-doc", "--db", str(map_db)]
    )
    assert result.exit_code == 0, result.output
    assert "### End to end through the real Rasa NLU (dev.yml)" in result.output
    assert "Need recognised: " in result.output
