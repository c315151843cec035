"""Parameters and FLOPs at a stated input size, against hand-computed counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from baselines.edsr import EDSRBaseline
from baselines.srcnn import SRCNN
from baselines.vdsr import VDSR
from srbench.engine import complexity
from srbench.engine.complexity import (
    complexity_cache_dir,
    count_flops,
    count_params,
    model_input_shape,
)


def test_one_convolution_is_counted_by_hand() -> None:
    conv = nn.Conv2d(2, 5, 3, padding=1)
    result = count_flops(conv, (1, 2, 10, 8))
    assert result.macs == 5 * 2 * 9 * 10 * 8
    assert result.flops == 2 * result.macs and "2 × MACs" in result.flops_convention
    assert result.params == 5 * 2 * 9 + 5 and result.input_shape == (1, 2, 10, 8)
    assert torch.__version__ in result.counter


def test_srcnn_macs_per_pixel_are_the_paper_formula() -> None:
    model = SRCNN(scale=3)
    shape = model_input_shape(model, (20, 30), 3)
    assert shape == (1, 1, 60, 90)  # pre-upsampled Y
    per_pixel = 9 * 9 * 64 + 5 * 5 * 64 * 32 + 5 * 5 * 32  # = 57,184 (weights only)
    assert count_flops(model, shape).macs == per_pixel * 60 * 90


def test_rgb_models_see_the_lr_size() -> None:
    model = EDSRBaseline(scale=4)
    assert model_input_shape(model, (20, 30), 4, batch=2) == (2, 3, 20, 30)
    assert count_params(model) == 1_517_571


def test_counting_does_not_touch_the_model() -> None:
    model = VDSR(scale=2)
    before = model.input.weight.clone()
    count_flops(model, (1, 1, 32, 32))
    assert model.input.weight.device.type == "cpu" and torch.equal(model.input.weight, before)


def _refuse_to_count(*args: object) -> int:
    raise AssertionError("counted again instead of reading the cache")


def test_counts_are_cached_by_fingerprint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    first = count_flops(VDSR(scale=2), (1, 1, 24, 24))
    assert len(list(complexity_cache_dir().glob("*.json"))) == 1
    monkeypatch.setattr(complexity, "_count", _refuse_to_count)
    assert count_flops(VDSR(scale=2), (1, 1, 24, 24)) == first
    with pytest.raises(AssertionError, match="counted again"):
        count_flops(VDSR(scale=3), (1, 1, 24, 24))  # a plain attribute differs
    with pytest.raises(AssertionError, match="counted again"):
        count_flops(VDSR(scale=2), (1, 1, 24, 32))  # another input shape is another entry
    with pytest.raises(AssertionError, match="counted again"):
        count_flops(nn.Conv2d(1, 4, 3), (1, 1, 24, 24))  # another structure too


def test_a_corrupt_or_unwritable_cache_is_counted_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    conv = nn.Conv2d(2, 5, 3, padding=1)
    expected = count_flops(conv, (1, 2, 10, 8)).macs
    (entry,) = complexity_cache_dir().glob("*.json")
    entry.write_text("{not json")
    assert count_flops(conv, (1, 2, 10, 8)).macs == expected
    assert json.loads(entry.read_text()) == {"flops": 2 * expected}  # rewritten
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("SRBENCH_HOME", str(blocked))  # the cache folder cannot be made
    assert count_flops(conv, (1, 2, 10, 8)).macs == expected
