"""MATLAB Y / YCbCr: primaries by hand, the 1.32 dB full-range trap, the 64.738 typo, gray rule."""

from __future__ import annotations

import doctest
import math
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srbench.errors import ProtocolError
from srbench.metrics.psnr import psnr
from srbench.protocol.color import luma_channel, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb

PRIMARIES = torch.tensor(  # black, white, red, green, blue as (5, 3, 1, 1)
    [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=torch.uint8
).view(5, 3, 1, 1)


def _random_rgb(seed: int, shape: tuple[int, ...] = (2, 3, 9, 7)) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)


def test_y_of_primaries_by_hand() -> None:
    y = rgb_to_y(PRIMARIES)
    assert y.dtype == torch.float64 and y.shape == (5, 1, 1, 1)
    expected = torch.tensor(
        [16.0, 235.0, 16 + 65.481, 16 + 128.553, 16 + 24.966], dtype=torch.float64
    )
    torch.testing.assert_close(y.flatten(), expected, rtol=0, atol=1e-12)


def test_typo_64_738_is_not_used() -> None:
    # BT.601 is also written 16 + (65.738 R + 129.057 G + 25.064 B) / 256, equivalent to ours
    # within 2e-3; a widely copied typo has 64.738, which is a full level off on red.
    rgb = PRIMARIES.double()

    def y_over_256(red_coefficient: float) -> torch.Tensor:
        return 16 + (red_coefficient * rgb[:, 0] + 129.057 * rgb[:, 1] + 25.064 * rgb[:, 2]) / 256

    ours = rgb_to_y(PRIMARIES)[:, 0]
    assert (ours - y_over_256(65.738)).abs().max() < 2e-3
    assert (ours - y_over_256(64.738)).abs().max() > 0.99


def test_uint8_and_float_inputs_agree() -> None:
    rgb = _random_rgb(0)
    torch.testing.assert_close(rgb_to_y(rgb), rgb_to_y(rgb.float()), rtol=0, atol=1e-12)
    assert not torch.equal(rgb_to_y(rgb), rgb_to_y(rgb).round())  # not rounded


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_full_range_luma_is_exactly_1_32_db_lower(seed: int) -> None:
    a, b = _random_rgb(seed), _random_rgb(seed + 1)
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)

    def full_range(rgb: torch.Tensor) -> torch.Tensor:
        return (rgb.double() * weights).sum(1, keepdim=True)

    gap = psnr(rgb_to_y(a), rgb_to_y(b)) - psnr(full_range(a), full_range(b))
    torch.testing.assert_close(gap, torch.full_like(gap, 20 * math.log10(255 / 219)))
    assert round(20 * math.log10(255 / 219), 4) == 1.3219  # the "1.32 dB" of SPEC §1.5


def test_ycbcr_of_primaries_by_hand() -> None:
    ycc = rgb_to_ycbcr(PRIMARIES)[..., 0, 0]
    expected = torch.tensor(
        [
            [16, 128, 128],
            [235, 128, 128],  # white is neutral: each chroma row of the matrix sums to 0
            [81.481, 128 - 37.797, 240],
            [144.553, 128 - 74.203, 128 - 93.786],
            [40.966, 240, 128 - 18.214],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(ycc, expected, rtol=0, atol=1e-12)


def test_ycbcr_y_channel_is_rgb_to_y() -> None:
    rgb = _random_rgb(3)
    torch.testing.assert_close(rgb_to_ycbcr(rgb)[:, :1], rgb_to_y(rgb), rtol=0, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_ycbcr_round_trip(seed: int) -> None:
    rgb = _random_rgb(seed).double()
    torch.testing.assert_close(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, rtol=0, atol=1e-9)


def test_luma_channel_scores_gray_on_raw_intensity() -> None:
    gray = _random_rgb(5, (2, 1, 6, 4))
    out = luma_channel(gray)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, gray.double(), rtol=0, atol=0)
    # The trap: replicating gray to RGB before Y gives 16 + 219/255 * I instead.
    replicated = luma_channel(gray.expand(2, 3, 6, 4))
    torch.testing.assert_close(replicated, 16 + gray.double() * 219 / 255)


def test_luma_channel_of_rgb_is_y() -> None:
    rgb = _random_rgb(6)
    torch.testing.assert_close(luma_channel(rgb), rgb_to_y(rgb), rtol=0, atol=0)


@pytest.mark.parametrize("channels", [2, 4])
def test_luma_channel_refuses_other_channel_counts(channels: int) -> None:
    with pytest.raises(ProtocolError, match=r"need 1 \(gray\) or 3 \(RGB\) channels") as info:
        luma_channel(torch.zeros(1, channels, 4, 4))
    assert "alpha" in info.value.hint


@pytest.mark.parametrize("fn", [rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb])
def test_conversions_refuse_non_rgb(fn) -> None:
    with pytest.raises(ProtocolError, match=r"needs a \(\.\.\., 3, H, W\) image"):
        fn(torch.zeros(1, 4, 4, 4))


def test_docstring_examples() -> None:
    module = sys.modules["srbench.protocol.color"]
    results = doctest.testmod(module)
    assert results.attempted > 0 and results.failed == 0
