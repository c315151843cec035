"""The compiled unfilter loops refuse buffers too small for the image they are told of."""

from __future__ import annotations

import numpy as np
import pytest

from srbench.data import unfilter


@pytest.mark.parametrize(
    ("raw", "out"),
    [(3 * (1 + 3 * 4), 3 * 4 * 4), (3 * (1 + 3 * 4) + 1, 3 * 4 * 4 - 1)],
    ids=["raw without its spare byte", "out short of a pixel"],
)
def test_rgb_refuses_buffers_too_small(raw: int, out: int) -> None:
    with pytest.raises(ValueError, match="too small"):
        unfilter.rgb(np.zeros(raw, np.uint8), 3, 4, np.empty(out, np.uint8))


def test_gray_refuses_buffers_too_small() -> None:
    with pytest.raises(ValueError, match="too small"):
        unfilter.gray(np.zeros(3 * 5 - 1, np.uint8), 3, 4, np.empty(12, np.uint8))
    with pytest.raises(ValueError, match="too small"):
        unfilter.gray(np.zeros(3 * 5, np.uint8), 3, 4, np.empty(11, np.uint8))


def test_rows_of_zeros_unfilter_to_zeros() -> None:
    raw = np.zeros(3 * (1 + 3 * 4) + 1, np.uint8)
    out = np.full(3 * 4 * 4, 7, np.uint8)
    unfilter.rgb(raw, 3, 4, out)
    assert not out.reshape(3, 4, 4)[..., :3].any()
