"""Train the Rasa NLU model only when its inputs changed.

A model is named by the hash of everything that shapes it (config, training data, the pinned
Rasa version), and kept under ``var/nlu-models/`` outside git. ``make run`` on an unchanged
checkout therefore starts in seconds instead of retraining.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.paths import NLU_PROJECT, data_dir, nlu_models_dir

NLU_VENV = NLU_PROJECT / ".venv"


def rasa_executable() -> Path:
    """The ``rasa`` command of the project's Python 3.10 virtualenv (or ``WEGWIJS_RASA``)."""
    override = os.environ.get("WEGWIJS_RASA")
    path = Path(override) if override else NLU_VENV / "bin" / "rasa"
    if not path.exists():
        raise FileNotFoundError(
            f"Rasa is not installed at {path}. Run `make setup` (it creates nlu/.venv with "
            "Python 3.10 and installs Rasa 3.6)."
        )
    return path


def training_inputs(project: Path = NLU_PROJECT) -> list[Path]:
    files = [project / "config.yml", project / "requirements.txt"]
    files += sorted((project / "data").rglob("*.yml"))
    return [f for f in files if f.exists()]


def fingerprint(project: Path = NLU_PROJECT) -> str:
    digest = hashlib.sha256()
    for path in training_inputs(project):
        digest.update(str(path.relative_to(project)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class TrainResult:
    model: Path
    trained: bool  # False when a cached model was reused
    seconds: float


def model_path_for(fp: str) -> Path:
    return nlu_models_dir() / f"nlu-{fp}.tar.gz"


@dataclass(frozen=True)
class TrainStep:
    """Where a running ``rasa train nlu`` is, read from its log as it goes."""

    component: str | None = None  # the pipeline component being trained
    epoch: int = 0  # DIET's epochs done so far ...
    epochs: int = 0  # ... of this many (0: not training epochs yet)


Progress = Callable[[TrainStep], None]

_COMPONENT = re.compile(r"Starting to train component '(\w+)'")
_EPOCHS = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")


def parse_step(line: str, current: TrainStep) -> TrainStep | None:
    """The new step if this line of Rasa's output shows progress, else None."""
    if found := _EPOCHS.search(line):
        done, total = int(found[1]), int(found[2])
        if (done, total) != (current.epoch, current.epochs):
            return TrainStep(current.component, done, total)
        return None
    if found := _COMPONENT.search(line):
        return TrainStep(found[1])
    return None


def train(
    project: Path = NLU_PROJECT,
    force: bool = False,
    quiet: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """Train ``project`` unless a model with the same fingerprint already exists."""
    fp = fingerprint(project)
    target = model_path_for(fp)
    if target.exists() and not force:
        # Rasa serves the newest file in the folder: after a rollback to older training data,
        # the reused model must become the newest again.
        os.utime(target)
        return TrainResult(target, trained=False, seconds=0.0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=nlu_models_dir()) as tmp:
        produced = rasa_train(
            project / "data", Path(tmp), f"nlu-{fp}", project, quiet=quiet, progress=progress
        )
        os.replace(produced, target)
    _prune(keep=target)
    seconds = time.perf_counter() - started
    _remember_duration(seconds)
    return TrainResult(target, trained=True, seconds=seconds)


def rasa_train(
    data: Path,
    out: Path,
    name: str,
    project: Path = NLU_PROJECT,
    quiet: bool = True,
    progress: Progress | None = None,
) -> Path:
    """Run ``rasa train nlu`` on ``data`` with the project's config; return the model file.

    The one place that calls Rasa's trainer: the cache above and the benchmarks use it. With
    ``progress``, Rasa's own output goes to ``var/logs/nlu-train.log`` and each step it shows
    (a component started, an epoch done) is passed to ``progress`` as it happens.
    """
    cmd = [
        str(rasa_executable()),
        "train",
        "nlu",
        "--config",
        str(project / "config.yml"),
        "--nlu",
        str(data),
        "--out",
        str(out),
        "--fixed-model-name",
        name,
    ]
    if progress is not None:
        _train_with_progress(cmd, project, progress)
        return out / f"{name}.tar.gz"
    if quiet:
        cmd.append("--quiet")
    subprocess.run(cmd, check=True, cwd=project, env=rasa_env(), capture_output=quiet)
    return out / f"{name}.tar.gz"


def train_log_path() -> Path:
    path = data_dir() / "logs" / "nlu-train.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _train_with_progress(cmd: list[str], project: Path, progress: Progress) -> None:
    """Run Rasa at INFO level (its epoch bar only shows then), keep its output in a log file,
    and report each step. Rasa's bar redraws with carriage returns, so lines end at either."""
    env = rasa_env()
    env["LOG_LEVEL"] = "INFO"
    step = TrainStep()
    with train_log_path().open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert proc.stdout is not None
        pending = b""
        while chunk := proc.stdout.read1(65536):
            log.write(chunk)
            pending += chunk
            *lines, pending = re.split(rb"[\r\n]", pending)
            for raw in lines:
                if (new := parse_step(raw.decode("utf-8", "replace"), step)) is not None:
                    step = new
                    progress(step)
            pending = pending[-4096:]  # a line without an end is never kept whole
        code = proc.wait()
    if code != 0:
        raise subprocess.CalledProcessError(code, cmd[:3], output=f"see {train_log_path()}")


def last_duration() -> float | None:
    """How long the last training on this machine took (seconds), for an estimate."""
    try:
        data = json.loads((nlu_models_dir() / "last-training.json").read_text())
        return float(data["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember_duration(seconds: float) -> None:
    path = nlu_models_dir() / "last-training.json"
    path.write_text(json.dumps({"seconds": round(seconds, 1)}))


def latest_model(project: Path = NLU_PROJECT) -> Path | None:
    """The model for the current inputs, if it has been trained."""
    path = model_path_for(fingerprint(project))
    return path if path.exists() else None


def _prune(keep: Path, max_models: int = 3) -> None:
    """Keep the newest few models so switching branches stays cheap but the disk does not fill."""
    models = sorted(nlu_models_dir().glob("nlu-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in models[:-max_models]:
        if old != keep:
            old.unlink(missing_ok=True)


def rasa_env() -> dict[str, str]:
    """Rasa's environment: no telemetry, quiet TensorFlow, nothing phoning home."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env
