"""Metrics by name from piq and pyiqa: per-image wrappers with their own conventions."""

from __future__ import annotations

import pytest
import torch

from srbench.errors import ConfigError, UnknownNameError
from srbench.registry import metrics


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(2, 3, 48, 40, generator=gen, dtype=torch.float64)
    return (hr + 0.05 * torch.randn(hr.shape, generator=gen, dtype=torch.float64)).clamp(0, 1), hr


def test_piq_metric_by_name_is_per_image() -> None:
    fn = metrics.get("piq:gmsd")
    spec = metrics.meta("piq:gmsd")["spec"]
    assert spec.space == "rgb01" and spec.higher_is_better is False
    sr, hr = _pair()
    both = fn(sr, hr)
    assert both.shape == (2,)
    torch.testing.assert_close(both[1:], fn(sr[1:], hr[1:]))


def test_pyiqa_metric_by_name_runs_offline_for_psnr() -> None:
    pytest.importorskip("pyiqa", reason="pyiqa is the optional `iqa` extra")
    sr, hr = _pair()
    values = metrics.get("pyiqa:psnr")(sr, hr)
    assert values.shape == (2,) and torch.isfinite(values).all()
    assert metrics.meta("pyiqa:psnr")["spec"].higher_is_better


def test_unknown_external_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="piq has no metric function 'nope'"):
        metrics.get("piq:nope")
    with pytest.raises(UnknownNameError, match="no metric named 'other:x'"):
        metrics.get("other:x")
