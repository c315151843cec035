"""`WorkingHr`: an image's HR converted once per metric space and shared by all its scales."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srbench.errors import ProtocolError
from srbench.protocol import PAPER, SRCNN_MATLAB, VDSR_PYTORCH, Protocol

SPACES = ("y255", "rgb01", "rgb_pm1")


@settings(max_examples=30, deadline=None)
@given(
    height=st.integers(13, 40),
    width=st.integers(13, 40),
    gray=st.booleans(),
    protocol=st.sampled_from([PAPER, SRCNN_MATLAB, VDSR_PYTORCH]),
    seed=st.integers(0, 2**16),
)
def test_shared_views_equal_the_views_of_each_crop(
    height: int, width: int, gray: bool, protocol: Protocol, seed: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    hr = torch.randint(0, 256, (1, 1 if gray else 3, height, width), generator=gen)
    hr = hr.to(torch.uint8)
    working = protocol.working(hr)
    for scale in (2, 3, 4):
        crop = working.crop(scale)
        assert torch.equal(crop, protocol.crop_hr(hr, scale))
        sr = torch.rand(crop.shape, generator=gen, dtype=torch.float64) * 300 - 20
        shared = protocol.prepare(sr, crop, scale, source=working)
        alone = protocol.prepare(sr, protocol.crop_hr(hr, scale), scale)
        for space in SPACES:
            for a, b in zip(shared.view(space), alone.view(space), strict=True):
                assert a.dtype == b.dtype and torch.equal(a, b), (scale, space)


def test_each_space_is_converted_once_for_all_scales() -> None:
    working = PAPER.working(torch.randint(0, 256, (1, 3, 30, 31), dtype=torch.uint8))
    views = [working.converted("y255", working.crop(scale)) for scale in (2, 3, 4)]
    assert [tuple(v.shape[-2:]) for v in views] == [(30, 30), (30, 30), (28, 28)]
    assert len({v.untyped_storage().data_ptr() for v in views}) == 1


def test_an_hr_from_elsewhere_is_refused() -> None:
    hr = torch.randint(0, 256, (1, 3, 24, 24), dtype=torch.uint8)
    working = PAPER.working(hr)
    prepared = PAPER.prepare(hr.clone(), hr.clone(), 2, source=working)
    with pytest.raises(ProtocolError, match="not a crop of its WorkingHr"):
        prepared.view("y255")


def test_too_small_for_a_scale_names_the_size() -> None:
    working = PAPER.working(torch.zeros(1, 3, 9, 40, dtype=torch.uint8))
    assert working.crop(2).shape[-2:] == (8, 40)
    with pytest.raises(ProtocolError, match="9x40 px is too small for scale 4"):
        working.crop(4)
