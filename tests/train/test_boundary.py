"""Boundary ground truth: Canny on HR luminance by default, pluggable as module:function."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srbench.errors import ConfigError
from srbench.train.boundary import boundary_map, resolve


def _square() -> torch.Tensor:
    img = torch.full((3, 40, 40), 30, dtype=torch.uint8)
    img[:, 10:30, 10:30] = 220
    return img


def test_canny_marks_the_square_outline_and_nothing_far_from_it() -> None:
    edges = boundary_map(_square())
    assert edges.shape == (1, 40, 40) and edges.dtype == torch.uint8
    assert edges.max() == 1
    ys, xs = torch.nonzero(edges[0], as_tuple=True)
    on_outline = (((ys - 9.5).abs() <= 2) | ((ys - 29.5).abs() <= 2) | ((xs - 9.5).abs() <= 2)) | (
        (xs - 29.5).abs() <= 2
    )
    assert on_outline.all()
    assert edges[0, 20, 20] == 0 and edges[0, 2, 2] == 0


def test_gray_images_use_their_raw_intensity() -> None:
    gray = _square()[:1]
    assert torch.equal(boundary_map(gray), boundary_map(_square()))


def half_plane(luma: np.ndarray) -> np.ndarray:
    """A test edge function: everything right of the middle column."""
    out = np.zeros_like(luma, dtype=bool)
    out[:, luma.shape[1] // 2 :] = True
    return out


def test_module_function_plugin() -> None:
    edges = boundary_map(_square(), f"{__name__}:half_plane")
    assert edges[0, :, 20:].all() and not edges[0, :, :20].any()


def wrong_shape(luma: np.ndarray) -> np.ndarray:
    """A broken edge function."""
    return luma[1:]


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("sobel-ish", r"unknown method 'sobel-ish'"),
        ("no_such_module:f", r"cannot import 'no_such_module:f'"),
        (f"{__name__}:nothing_here", r"cannot import"),
        (f"{__name__}:wrong_shape", r"returned shape \(39, 40\)"),
    ],
)
def test_bad_methods(method: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        boundary_map(_square(), method)


def test_resolve_builtin() -> None:
    assert resolve("canny").__name__ == "canny"
