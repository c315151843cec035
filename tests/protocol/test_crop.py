"""modcrop keeps the top-left multiple of the scale; shave drops the border on every side."""

from __future__ import annotations

import doctest
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srbench.errors import ConfigError, ProtocolError
from srbench.protocol.crop import modcrop, shave


def _ramp(*shape: int) -> torch.Tensor:
    return torch.arange(torch.Size(shape).numel()).view(shape)


def test_modcrop_keeps_top_left() -> None:
    img = _ramp(2, 3, 10, 13)
    out = modcrop(img, 4)
    assert out.shape == (2, 3, 8, 12)
    assert torch.equal(out, img[..., :8, :12])


def test_modcrop_of_a_multiple_is_unchanged() -> None:
    img = _ramp(3, 12, 12)
    assert torch.equal(modcrop(img, 3), img)


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), scale=st.integers(1, 8))
def test_modcrop_divisibility(h: int, w: int, scale: int) -> None:
    if h < scale or w < scale:
        with pytest.raises(ProtocolError):
            modcrop(torch.zeros(h, w), scale)
        return
    oh, ow = modcrop(torch.zeros(1, h, w), scale).shape[-2:]
    assert oh % scale == 0 and ow % scale == 0
    assert 0 <= h - oh < scale and 0 <= w - ow < scale


def test_modcrop_refuses_images_smaller_than_the_scale() -> None:
    with pytest.raises(ProtocolError, match=r"image of 3x9 px is too small for scale 4"):
        modcrop(torch.zeros(1, 3, 9), 4)


@pytest.mark.parametrize("scale", [0, -2, 2.0, "2"])
def test_modcrop_refuses_non_integer_scales(scale: object) -> None:
    with pytest.raises(ConfigError, match="modcrop: scale must be an integer >= 1"):
        modcrop(torch.zeros(1, 8, 8), scale)  # type: ignore[arg-type]


def test_shave_drops_border_on_every_side() -> None:
    img = _ramp(1, 7, 9)
    out = shave(img, 2)
    assert out.shape == (1, 3, 5)
    assert torch.equal(out, img[..., 2:5, 2:7])


def test_shave_zero_is_identity() -> None:
    img = _ramp(2, 5, 5)
    assert torch.equal(shave(img, 0), img)


@pytest.mark.parametrize(("h", "w"), [(8, 20), (20, 8), (7, 7)])
def test_shave_refuses_borders_that_leave_nothing(h: int, w: int) -> None:
    with pytest.raises(ProtocolError, match=rf"cannot shave 4 px from each side of a {h}x{w}"):
        shave(torch.zeros(h, w), 4)


def test_shave_refuses_negative_border() -> None:
    with pytest.raises(ConfigError, match="shave: border must be an integer >= 0"):
        shave(torch.zeros(8, 8), -1)


def test_docstring_examples() -> None:
    module = sys.modules["srbench.protocol.crop"]
    results = doctest.testmod(module)
    assert results.attempted > 0 and results.failed == 0
