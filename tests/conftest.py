"""Shared test setup: Qt offscreen, every library and cache in tmp, the shared data sets."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before anything imports Qt (Picard's test/conftest.py does the same).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Facefolio's own switches (no telemetry, no update checks) before any test file imports a
# dependency directly.
import facefolio  # noqa: E402,F401


def _datasets_dir() -> Path:
    env = os.environ.get("FACEFOLIO_DATASETS")
    if env:
        return Path(env)
    # The repository is cloned with shared/ beside it (CI and developers alike).
    return Path(__file__).resolve().parents[2] / "shared" / "datasets"


DATASETS = _datasets_dir()


@pytest.fixture(scope="session")
def datasets() -> Path:
    assert DATASETS.is_dir(), f"test data not found at {DATASETS} (set FACEFOLIO_DATASETS)"
    return DATASETS


@pytest.fixture(autouse=True)
def _fresh_library_env(tmp_path_factory, monkeypatch):
    """No test reads or writes the developer's own library or settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("FACEFOLIO_LIBRARY", str(home / "library"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
