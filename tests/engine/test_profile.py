"""Profiling: parameters and MACs at the stated input, latency rows per timing mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torch import Tensor, nn

from srbench.engine.profile import cost_lr_size, profile
from srbench.engine.run import RunConfig, run
from srbench.models import BuiltModel
from srbench.store.sqlite import Store


class Conv(nn.Module):
    """One 3x3 conv then pixel shuffle: MACs are easy to count by hand."""

    def __init__(self, *, scale: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1, bias=False)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.shuffle(self.conv(x))


def test_macs_are_counted_on_the_stated_input() -> None:
    built = BuiltModel(name="conv", module=Conv(scale=2), version="v")
    measured = profile(built, 2, "off", "cpu")
    h, w = cost_lr_size(2)
    assert (h, w) == (360, 640)
    assert measured.complexity["params"] == 3 * 12 * 9
    assert measured.complexity["macs"] == h * w * 12 * 3 * 9
    assert measured.complexity["input_shape"] == f"1x3x{h}x{w}"
    assert measured.timing is None


def test_quick_timing_records_repeats_and_threads() -> None:
    built = BuiltModel(name="conv", module=Conv(scale=3), version="v")
    timing = profile(built, 3, "quick", "cpu").timing
    assert timing is not None
    assert timing["repeats"] == 5 and timing["warmup"] == 1 and timing["timer"] == "perf_counter"
    assert 0 < timing["min_ms"] <= timing["median_ms"] <= timing["p90_ms"]
    assert timing["threads"] >= 1 and (timing["lr_h"], timing["lr_w"]) == (96, 96)


@pytest.mark.parametrize(("mode", "timed"), [("off", 0), ("quick", 2)])
def test_a_run_stores_cost_rows(tmp_path: Path, mode: str, timed: int) -> None:
    (tmp_path / "data" / "Set14").mkdir(parents=True)
    pixels = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "data" / "Set14" / "a.png")
    run(
        RunConfig(
            models=("bicubic",),
            datasets=("set14",),
            scales=(2, 4),
            out=tmp_path / "o",
            data_root=tmp_path / "data",
            timing=mode,
        )
    )  # type: ignore[arg-type]
    store = Store(tmp_path / "o", create=False)
    assert len(store.table("complexity")) == 2
    assert len(store.table("timing")) == timed
