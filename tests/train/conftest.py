"""Small synthetic training folders and a tiny DRN-GS config, so training tests take seconds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# DRN-GS small enough to train a few steps in well under a second on 2 CPU cores
TINY_DRN = {"preset": "tiny", "n_blocks": 1, "n_feats": 4}


@pytest.fixture
def tiny_drn() -> dict[str, object]:
    """Constructor options of a DRN-GS small enough for tests."""
    return dict(TINY_DRN)


def write_images(folder: Path, sizes: list[tuple[int, int]], *, seed: int = 0) -> Path:
    """Smooth random colour images (so bicubic LR is meaningful) of the given (h, w) sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, (h, w) in enumerate(sizes):
        coarse = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((w, h), Image.BILINEAR)
        img.save(folder / f"img{i:02d}.png")
    return folder


@pytest.fixture
def train_folder(tmp_path: Path) -> Path:
    """Five 40×36 colour images."""
    return write_images(tmp_path / "hr", [(40, 36)] * 5)


@pytest.fixture
def make_images() -> Callable[..., Path]:
    """`write_images` for tests that need their own sizes."""
    return write_images
