"""Where things live on disk.

Everything the bot writes at run time goes under one data directory (``var/`` in the
checkout, or ``WEGWIJS_DATA_DIR``), so a deployment mounts one volume and git never sees it.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NLU_PROJECT = PROJECT_ROOT / "nlu"
LOCALES_DIR = PROJECT_ROOT / "locales"
MAP_DATA_DIR = PROJECT_ROOT / "social_map" / "data"


def data_dir() -> Path:
    """The writable data directory, created on first use."""
    path = Path(os.environ.get("WEGWIJS_DATA_DIR", PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def map_db_path() -> Path:
    return Path(os.environ.get("WEGWIJS_MAP_DB", data_dir() / "social_map.db"))


def state_db_path() -> Path:
    return Path(os.environ.get("WEGWIJS_STATE_DB", data_dir() / "state.db"))


def nlu_models_dir() -> Path:
    path = data_dir() / "nlu-models"
    path.mkdir(parents=True, exist_ok=True)
    return path
