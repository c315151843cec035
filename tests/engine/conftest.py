"""Engine tests keep their LR cache (and anything else under SRBENCH_HOME) in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point SRBENCH_HOME at a fresh folder; a test may set its own afterwards."""
    home: Path = tmp_path_factory.mktemp("srbench-home")
    monkeypatch.setenv("SRBENCH_HOME", str(home))
