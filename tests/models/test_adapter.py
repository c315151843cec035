"""The adapter's output checks: non-finite values are refused wherever they are."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from srbench.errors import ModelError
from srbench.models.adapter import upscale
from srbench.specs import ModelIO


class _Fill(nn.Module):
    """Nearest upscaling by 2 in [0, 1], with `value` written at one pixel."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        out = x.repeat_interleave(2, -2).repeat_interleave(2, -1).clone()
        out[..., 3, 5] = self.value
        return out


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_one_non_finite_pixel_is_refused(value: float) -> None:
    lr = torch.randint(0, 256, (1, 3, 8, 9), dtype=torch.uint8)
    with pytest.raises(ModelError, match="returned NaN or Inf values at x2"):
        upscale(_Fill(value), lr, 2, name="fill")


def test_huge_finite_values_whose_sum_overflows_pass() -> None:
    lr = torch.full((1, 3, 8, 9), 255, dtype=torch.uint8)
    out = upscale(_Fill(1e300), lr, 2, name="fill")  # the sum is inf, every value finite
    assert torch.isfinite(out).all() and out[0, 0, 3, 5].item() == pytest.approx(255e300)


class _Native(nn.Module):
    """A native model: records the LR it gets and returns `out` (or nearest x2 of the LR)."""

    io = ModelIO(native=True)

    def __init__(self, out: Tensor | None = None) -> None:
        super().__init__()
        self.out, self.seen = out, None

    def forward(self, x: Tensor) -> Tensor:
        self.seen = x
        if self.out is not None:
            return self.out
        return x.repeat_interleave(2, -2).repeat_interleave(2, -1)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float64])
def test_a_native_model_gets_the_lr_as_it_is_and_keeps_its_dtype(dtype: torch.dtype) -> None:
    lr = torch.randint(0, 256, (1, 1, 8, 9), dtype=torch.uint8).to(dtype)
    model = _Native()
    out = upscale(model, lr, 2, name="native")
    assert model.seen is lr
    assert out.dtype == dtype and out.shape == (1, 1, 16, 18)


def test_a_native_model_is_checked_like_any_other() -> None:
    lr = torch.zeros(1, 3, 8, 9, dtype=torch.float64)
    with pytest.raises(ModelError, match=r"returned shape \(1, 3, 8, 9\) for LR"):
        upscale(_Native(lr), lr, 2, name="native")
    bad = torch.zeros(1, 3, 16, 18, dtype=torch.float64)
    bad[0, 1, 2, 3] = float("nan")
    with pytest.raises(ModelError, match="returned NaN or Inf values at x2"):
        upscale(_Native(bad), lr, 2, name="native")
