"""Shared fixtures: the real datasets and weights are found through environment variables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point SRBENCH_HOME at a fresh folder so tests never read or write the user's cache."""
    home = tmp_path_factory.mktemp("srbench-home")
    before = os.environ.get("SRBENCH_HOME")
    os.environ["SRBENCH_HOME"] = str(home)
    yield home
    if before is None:
        os.environ.pop("SRBENCH_HOME", None)
    else:
        os.environ["SRBENCH_HOME"] = before


def _env_dir(var: str, sub: str = "") -> Path | None:
    value = os.environ.get(var)
    if not value:
        return None
    path = Path(value) / sub
    return path if path.exists() else None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared datasets folder (SRBENCH_DATA_ROOT); skips the test when it is absent."""
    root = _env_dir("SRBENCH_DATA_ROOT")
    if root is None or not (root / "Set5").is_dir():
        pytest.skip("SRBENCH_DATA_ROOT is unset or has no Set5/: set it to ../shared/datasets")
    return root


@pytest.fixture(scope="session")
def weights_root() -> Path:
    """The shared pretrained weights folder (SRBENCH_WEIGHTS_ROOT); skips when absent."""
    root = _env_dir("SRBENCH_WEIGHTS_ROOT")
    if root is None:
        pytest.skip("SRBENCH_WEIGHTS_ROOT is unset or missing: set it to ../shared/weights")
    return root
