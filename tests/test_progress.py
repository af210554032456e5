"""Progress on the slow first run: training shows its stage, epochs, elapsed time and time left;
a second run says in one line that it reuses the model."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.nlu.train_progress import TrainingDisplay
from bot.nlu.training import TrainStep, parse_step
from bot.paths import PROJECT_ROOT
from bot.progress import StatusLine, bar, duration

# Lines as `rasa train nlu` writes them at INFO level (the epoch bar redraws with \r).
RASA_LINES = [
    "2026-12-04 17:53:56 INFO     rasa.engine.training.hooks  - Restored component "
    "'RegexFeaturizer' from cache.",
    "2026-12-04 17:54:03 INFO     rasa.engine.training.hooks  - Starting to train component "
    "'DIETClassifier'.",
    "Epochs:   0%|          | 0/40 [00:00<?, ?it/s]",
    "Epochs:   2%|▎         | 1/40 [00:27<18:05, 27.83s/it]",
    "Epochs:   2%|▎         | 1/40 [00:27<18:05, 27.83s/it, t_loss=7.33, i_acc=0.264, e_f1=0.07]",
    "Epochs:   5%|▌         | 2/40 [00:34<09:37, 15.20s/it, t_loss=7.33, i_acc=0.264, e_f1=0.07]",
]


def test_rasas_output_is_read_as_steps() -> None:
    step, seen = TrainStep(), []
    for line in RASA_LINES:
        if (new := parse_step(line, step)) is not None:
            step = new
            seen.append(step)
    assert seen == [
        TrainStep("DIETClassifier"),
        TrainStep("DIETClassifier", 0, 40),
        TrainStep("DIETClassifier", 1, 40),  # once, although the bar was drawn twice
        TrainStep("DIETClassifier", 2, 40),
    ]


def test_the_line_shows_stage_then_a_bar_with_the_time_left() -> None:
    display = TrainingDisplay(expected=200.0)
    assert display.describe(5.0) == "loading the training data, 0:05 elapsed, about 3:15 left"
    display.on_step(TrainStep("DIETClassifier"))
    assert display.describe(30.0).startswith("preparing (DIETClassifier), 0:30 elapsed")
    display.on_step(TrainStep("DIETClassifier", 1, 40))
    display.on_step(TrainStep("DIETClassifier", 20, 40))
    text = display.describe(90.0)
    assert text.startswith(bar(20, 40) + " epoch 20/40, 1:30 elapsed, about ")
    assert text.endswith(" left")


def test_a_log_gets_plain_lines_not_redraws() -> None:
    out = io.StringIO()  # not a terminal: no carriage returns, no escape codes
    with StatusLine("Working", lambda s: f"{duration(s)} elapsed", out, log_every=0.05):
        pass
    assert out.getvalue().startswith("  Working: 0:00 elapsed\n")
    assert "\r" not in out.getvalue() and "\033" not in out.getvalue()


@pytest.mark.rasa
def test_a_second_run_reuses_the_model_in_one_line(rasa_url: str) -> None:
    result = CliRunner().invoke(main, ["nlu", "train"])  # rasa_url trained it already
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1 and "Reusing the language model" in result.output


def test_a_setup_step_says_what_and_how_long_and_shows_a_failure(tmp_path: Path) -> None:
    step = PROJECT_ROOT / "scripts" / "step"
    ok = subprocess.run(
        [step, "demo", "Doing a demo", "a second", "--", "sh", "-c", "echo hi"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0
    assert ok.stdout.splitlines()[0] == "==> Doing a demo (a second)"
    assert ok.stdout.splitlines()[-1].startswith("    done in 0:0")
    assert (tmp_path / "var/logs/setup-demo.log").read_text() == "hi\n"
    bad = subprocess.run(
        [step, "demo", "Failing", "a second", "--", "sh", "-c", "echo broken; exit 3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 3
    assert "FAILED" in bad.stdout and "| broken" in bad.stdout
