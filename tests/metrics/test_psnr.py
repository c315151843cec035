"""PSNR: known MSEs, +inf on equal images, per-image batches, and piq on MATLAB-Y inputs."""

from __future__ import annotations

import doctest
import math
import sys

import piq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srbench.errors import ConfigError, ProtocolError
from srbench.metrics.psnr import psnr
from srbench.protocol import PAPER, quantize
from srbench.protocol.imresize import imresize
from srbench.registry import metrics


def _protocol_y_pair(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth 48x40 RGB HR and its bicubic x2 SR, prepared by the paper protocol (Y, shaved)."""
    gen = torch.Generator().manual_seed(seed)
    hr = quantize(imresize(torch.rand(1, 3, 12, 10, dtype=torch.float64, generator=gen) * 255, 4.0))
    sr = imresize(PAPER.make_lr(hr, 2).double(), 2.0)
    return PAPER.prepare(sr, hr, 2).view("y255")


def test_known_mse() -> None:
    hr = torch.full((1, 1, 4, 6), 100.0)
    signs = torch.tensor([1.0, -1.0]).repeat(12).view(1, 1, 4, 6)
    assert psnr(hr + signs, hr).item() == pytest.approx(20 * math.log10(255), abs=1e-12)
    assert psnr(hr + 2 * signs, hr).item() == pytest.approx(20 * math.log10(255 / 2), abs=1e-12)
    assert psnr(hr + signs, hr, peak=1.0).item() == pytest.approx(0.0, abs=1e-12)


def test_identical_images_are_infinite() -> None:
    img = torch.rand(2, 1, 5, 5) * 255
    out = psnr(img, img.clone())
    assert out.dtype == torch.float64 and torch.isinf(out).all() and (out > 0).all()


def test_per_image_values_and_pooled_channels() -> None:
    hr = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    sr = hr.clone()
    sr[0, 0], sr[0, 1], sr[0, 2] = 1, 2, 3  # MSE (1 + 4 + 9) / 3 over all channels
    sr[1] = 5
    out = psnr(sr, hr)
    assert out.shape == (2,)
    expected = [10 * math.log10(255**2 / (14 / 3)), 10 * math.log10(255**2 / 25)]
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_symmetric(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.rand(2, 3, 1, 6, 5, generator=gen) * 255
    assert torch.equal(psnr(a, b), psnr(b, a))


def test_matches_piq_on_matlab_y() -> None:
    # piq divides by data_range (so 0-255 inputs with data_range=255 match peak 255) and adds
    # 1e-8 to the [0, 1]-scale MSE, which lowers PSNR by 10 log10(1 + 1e-8 * 255² / MSE):
    # 3e-4 dB here (38.6 dB). Undo it to compare exactly.
    for seed in range(3):
        sr, hr = _protocol_y_pair(seed)
        theirs = piq.psnr(sr, hr, data_range=255.0, reduction="none")
        unbiased = -10 * torch.log10(10 ** (-theirs / 10) - 1e-8)
        torch.testing.assert_close(psnr(sr, hr), unbiased, rtol=0, atol=1e-8)


@pytest.mark.parametrize(
    ("sr", "hr"),
    [
        (torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5)),
        (torch.zeros(1, 4, 4), torch.zeros(1, 4, 4)),
    ],
)
def test_refuses_mismatched_or_unbatched_inputs(sr: torch.Tensor, hr: torch.Tensor) -> None:
    with pytest.raises(ProtocolError, match=r"psnr needs SR and HR of the same \(N, C, H, W\)"):
        psnr(sr, hr)


def test_refuses_non_positive_peak() -> None:
    with pytest.raises(ConfigError, match="psnr: peak must be positive"):
        psnr(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2), peak=0.0)


def test_registered_on_the_y_view() -> None:
    assert metrics.get("psnr") is psnr
    spec = metrics.meta("psnr")["spec"]
    assert (spec.space, spec.higher_is_better) == ("y255", True)


def test_docstring_examples() -> None:
    module = sys.modules["srbench.metrics.psnr"]
    results = doctest.testmod(module)
    assert results.attempted > 0 and results.failed == 0


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.sampled_from([1, 3]),
    h=st.integers(1, 30),
    w=st.integers(1, 30),
    border=st.integers(0, 3),
    dtype=st.sampled_from([torch.float64, torch.float32]),
    seed=st.integers(0, 2**16),
)
def test_compiled_sum_matches_torchs_on_shaved_views(
    n: int, c: int, h: int, w: int, border: int, dtype: torch.dtype, seed: int
) -> None:
    """The CPU loop (strided views, a row tail shorter than its 8 lanes) against torch's
    subtract-square-mean, which a tensor needing a gradient still takes."""
    gen = torch.Generator().manual_seed(seed)
    full = [torch.rand(n, c, h + 2 * border, w + 2 * border, generator=gen) * 255 for _ in "ab"]
    sr, hr = (t.to(dtype)[..., border : border + h, border : border + w] for t in full)
    fast = psnr(sr, hr)
    reference = psnr(sr.clone().requires_grad_(), hr).detach()
    assert fast.dtype == torch.float64
    assert torch.allclose(fast, reference, rtol=1e-13, atol=0)
