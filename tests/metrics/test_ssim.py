"""SSIM (MATLAB ssim_index): closed forms, the window, piq without downsampling, and the trap."""

from __future__ import annotations

import doctest
import sys

import piq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srbench.errors import ConfigError, ProtocolError
from srbench.metrics.ssim import K1, WINDOW, WINDOW_SIGMA, WINDOW_SIZE, ssim
from srbench.protocol import PAPER, quantize
from srbench.protocol.imresize import imresize
from srbench.registry import metrics

# SSIM filters in float32 (see srbench.metrics.ssim): within this of a float64 computation,
# 25x below half a unit of the fourth decimal that tables print.
FLOAT32_TOL = 2e-6


def _protocol_y_pair(seed: int, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """A textured RGB HR of `size` and its bicubic x2 SR, prepared by the paper protocol."""
    gen = torch.Generator().manual_seed(seed)
    small = torch.rand(1, 3, size[0] // 4, size[1] // 4, dtype=torch.float64, generator=gen)
    grain = torch.randn(1, 3, *size, dtype=torch.float64, generator=gen) * 12
    hr = quantize(imresize(small * 255, 4.0) + grain)
    sr = imresize(PAPER.make_lr(hr, 2).double(), 2.0)
    return PAPER.prepare(sr, hr, 2).view("y255")


def test_window_is_matlab_fspecial_gaussian_11_1_5() -> None:
    assert (WINDOW_SIZE, WINDOW_SIGMA) == (11, 1.5)
    r = torch.arange(11, dtype=torch.float64) - 5
    fspecial = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    fspecial /= fspecial.sum()
    window = torch.tensor(WINDOW, dtype=torch.float64)
    torch.testing.assert_close(window[:, None] * window[None, :], fspecial, rtol=0, atol=1e-17)
    assert window.sum().item() == pytest.approx(1.0, abs=1e-15)


def test_identical_images_score_one() -> None:
    img = torch.rand(2, 3, 16, 20) * 255
    out = ssim(img, img.clone())
    assert out.dtype == torch.float64 and out.shape == (2,)
    assert torch.equal(out, torch.ones(2, dtype=torch.float64))


@pytest.mark.parametrize(("level", "shift"), [(100.0, 10.0), (30.0, -25.0), (200.0, 0.5)])
def test_constant_shift_closed_form(level: float, shift: float) -> None:
    # Equal variances and covariance: only luminance differs, (2ab + C1) / (a² + b² + C1).
    x = torch.full((1, 1, 13, 17), level)
    c1 = (K1 * 255) ** 2
    b = level + shift
    expected = (2 * level * b + c1) / (level**2 + b**2 + c1)
    assert ssim(x + shift, x).item() == pytest.approx(expected, abs=FLOAT32_TOL)


def test_valid_filtering_uses_no_border() -> None:
    # A change in the outermost row is seen by the first valid window only, with the corner
    # weight of the window: SSIM drops, but by less than a change in the middle would.
    base = torch.full((1, 1, 11, 11), 50.0)
    edge, middle = base.clone(), base.clone()
    edge[..., 0, 0] += 40
    middle[..., 5, 5] += 40
    assert 1 > ssim(edge, base).item() > ssim(middle, base).item()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_symmetric_and_at_most_one(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.rand(2, 2, 1, 14, 12, generator=gen, dtype=torch.float64) * 255
    ab, ba = ssim(a, b), ssim(b, a)
    torch.testing.assert_close(ab, ba, rtol=0, atol=1e-14)
    assert (ab <= 1).all()


def test_multichannel_is_mean_of_channels() -> None:
    img = torch.rand(1, 3, 20, 18, dtype=torch.float64) * 255
    noisy = img + torch.randn(img.shape, dtype=torch.float64) * 8
    per_channel = torch.stack([ssim(noisy[:, c : c + 1], img[:, c : c + 1]) for c in range(3)])
    torch.testing.assert_close(ssim(noisy, img), per_channel.mean(0), rtol=0, atol=1e-15)


def test_matches_piq_without_downsampling() -> None:
    # piq divides by data_range and uses K1, K2 on [0, 1]: 0-255 inputs with data_range=255 match.
    for seed in range(3):
        sr, hr = _protocol_y_pair(seed, (48, 40))
        theirs = piq.ssim(
            sr,
            hr,
            data_range=255.0,
            kernel_size=11,
            kernel_sigma=1.5,
            downsample=False,
            reduction="none",
        )
        torch.testing.assert_close(ssim(sr, hr), theirs, rtol=0, atol=FLOAT32_TOL)


def test_downsampling_trap() -> None:
    # piq's default average-pools by round(min(H, W) / 256) first: here by 2, inflating SSIM.
    sr, hr = _protocol_y_pair(7, (520, 516))
    downsampled = piq.ssim(sr, hr, data_range=255.0, reduction="none")
    plain = piq.ssim(sr, hr, data_range=255.0, downsample=False, reduction="none")
    torch.testing.assert_close(ssim(sr, hr), plain, rtol=0, atol=FLOAT32_TOL)
    assert (downsampled - ssim(sr, hr)).item() > 1e-3


def test_refuses_images_smaller_than_the_window() -> None:
    with pytest.raises(ProtocolError, match="ssim needs images of at least 11x11 px, got 10x30"):
        ssim(torch.zeros(1, 1, 10, 30), torch.zeros(1, 1, 10, 30))


def test_refuses_mismatched_shapes() -> None:
    with pytest.raises(ProtocolError, match=r"ssim needs SR and HR of the same \(N, C, H, W\)"):
        ssim(torch.zeros(1, 1, 12, 12), torch.zeros(1, 3, 12, 12))


def test_refuses_non_positive_data_range() -> None:
    with pytest.raises(ConfigError, match="ssim: data_range must be positive"):
        ssim(torch.zeros(1, 1, 12, 12), torch.zeros(1, 1, 12, 12), data_range=-1.0)


def test_registered_on_the_y_view() -> None:
    assert metrics.get("ssim") is ssim
    spec = metrics.meta("ssim")["spec"]
    assert (spec.space, spec.higher_is_better) == ("y255", True)


def test_docstring_examples() -> None:
    module = sys.modules["srbench.metrics.ssim"]
    results = doctest.testmod(module)
    assert results.attempted > 0 and results.failed == 0
