"""Figures: the zoom box finds detail, and each figure is written as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from srbench.errors import ConfigError
from srbench.report.figures import Crop, auto_box, comparison_figure, distribution_figure


def test_auto_box_lands_on_the_textured_corner() -> None:
    img = torch.full((3, 96, 96), 128, dtype=torch.uint8)
    noise = torch.randint(0, 256, (3, 32, 32), generator=torch.Generator().manual_seed(0))
    img[:, 60:92, 8:40] = noise.to(torch.uint8)
    x, y, w, h = auto_box(img, 32)
    assert (w, h) == (32, 32)
    assert abs(x - 8) <= 8 and abs(y - 60) <= 8


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_comparison_and_distribution_are_written(tmp_path: Path, suffix: str) -> None:
    hr = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    crops = [Crop("bicubic", hr.flip(-1), 25.0), Crop("srcnn", hr, 31.5)]
    out = comparison_figure(hr, crops, (8, 8, 24, 24), "t", tmp_path / f"cmp{suffix}")
    assert out.stat().st_size > 1000
    table = pd.DataFrame(
        {
            "model": ["a", "a", "b", "b"],
            "dataset": "Set5",
            "scale": 2,
            "psnr": [30.0, 31.0, 32.0, 33.0],
        }
    )
    dist = distribution_figure(table, "psnr", tmp_path / f"dist{suffix}")
    assert dist.stat().st_size > 1000


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    table = pd.DataFrame({"model": ["a"], "dataset": "Set5", "scale": 2, "psnr": [30.0]})
    with pytest.raises(ConfigError, match=r"\.png or \.pdf"):
        distribution_figure(table, "psnr", tmp_path / "x.jpg")
