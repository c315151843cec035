"""Fixtures of the feed's tests: small PNG files, and waiting for a background worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PngFiles = Callable[..., list[Path]]
WaitFor = Callable[..., None]


@pytest.fixture
def png_files() -> PngFiles:
    """`png_files(folder, count, size=(20, 30))`: that many random RGB PNGs, in order."""

    def make(folder: Path, count: int, size: tuple[int, int] = (20, 30)) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(7)
        paths = []
        for k in range(count):
            path = folder / f"img{k:02d}.png"
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
            paths.append(path)
        return paths

    return make


@pytest.fixture
def wait_for() -> WaitFor:
    """`wait_for(condition, seconds=10.0)`: poll until `condition()` holds, or fail."""

    def wait(condition: Callable[[], bool], seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.01)

    return wait
