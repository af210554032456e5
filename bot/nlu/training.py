"""Train the Rasa NLU model only when its inputs changed.

A model is named by the hash of everything that shapes it (config, training data, the pinned
Rasa version), and kept under ``var/nlu-models/`` outside git. ``make run`` on an unchanged
checkout therefore starts in seconds instead of retraining.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.paths import NLU_PROJECT, nlu_models_dir

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


def train(project: Path = NLU_PROJECT, force: bool = False, quiet: bool = False) -> TrainResult:
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
        produced = rasa_train(project / "data", Path(tmp), f"nlu-{fp}", project, quiet=quiet)
        os.replace(produced, target)
    _prune(keep=target)
    return TrainResult(target, trained=True, seconds=time.perf_counter() - started)


def rasa_train(
    data: Path, out: Path, name: str, project: Path = NLU_PROJECT, quiet: bool = True
) -> Path:
    """Run ``rasa train nlu`` on ``data`` with the project's config; return the model file.

    The one place that calls Rasa's trainer: the cache above and the benchmarks use it.
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
    if quiet:
        cmd.append("--quiet")
    subprocess.run(cmd, check=True, cwd=project, env=rasa_env(), capture_output=quiet)
    return out / f"{name}.tar.gz"


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
