"""Tiled inference with overlap, so large models and large images fit in memory.

The input is cut into cores of `tile - 2 * overlap` pixels; each core is run with up to
`overlap` pixels of context on every side that has a neighbour, and only the core's part
of the output is kept. For a convolutional model whose receptive-field radius is at most
`overlap`, the result equals the untiled output up to floating-point summation order.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from srbench.errors import ConfigError, ModelError

__all__ = ["check_tiling", "tiled_forward"]


def check_tiling(tile: int, overlap: int) -> None:
    """Refuse tile settings that leave no core: `tile` must exceed `2 * overlap`, overlap >= 0."""
    if overlap < 0 or tile <= 2 * overlap:
        raise ConfigError(
            f"--tile {tile} with --tile-overlap {overlap} leaves no pixels to keep per tile",
            hint="use a tile larger than twice the overlap, e.g. --tile 256 --tile-overlap 16",
        )


def tiled_forward(
    model: Callable[[Tensor], Tensor], x: Tensor, *, tile: int, overlap: int, factor: int
) -> Tensor:
    """`model(x)` computed on overlapping tiles of at most `tile`×`tile` input pixels.

    `factor` is the model's output/input size ratio (the scale, or 1 for a model fed
    pre-upsampled input). An input that fits in one tile is run whole.
    """
    check_tiling(tile, overlap)
    height, width = x.shape[-2:]
    if height <= tile and width <= tile:
        return model(x)
    core = tile - 2 * overlap
    out: Tensor | None = None
    for top in range(0, height, core):
        bottom = min(top + core, height)
        t0, t1 = max(top - overlap, 0), min(bottom + overlap, height)
        for left in range(0, width, core):
            right = min(left + core, width)
            l0, l1 = max(left - overlap, 0), min(right + overlap, width)
            y = model(x[..., t0:t1, l0:l1])
            if tuple(y.shape[-2:]) != ((t1 - t0) * factor, (l1 - l0) * factor):
                raise ModelError(
                    f"a {t1 - t0}x{l1 - l0} tile gave a {y.shape[-2]}x{y.shape[-1]} output, "
                    f"not {factor} times its size"
                )
            if out is None:
                out = y.new_empty((*y.shape[:-2], height * factor, width * factor))
            out[..., top * factor : bottom * factor, left * factor : right * factor] = y[
                ...,
                (top - t0) * factor : (bottom - t0) * factor,
                (left - l0) * factor : (right - l0) * factor,
            ]
    assert out is not None  # the loops run at least once for a non-empty input
    return out
