"""Shared fixtures: the real datasets and weights are found through environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


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
