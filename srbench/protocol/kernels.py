"""The protocol's per-pixel steps as compiled loops (numba) for CPU arrays.

One pass over memory per step, where torch needs a pass and a temporary per operation:
imresize's two 1-D passes, quantisation to uint8 and MATLAB Y (SSIM's loop is in
`srbench/metrics/ssim.py`). Each does the arithmetic of the torch code beside it
(`imresize`, `quantize`, `rgb_to_y`), which still runs for other devices and dtypes and
for autograd; results agree to the last bit or two, where torch's matrix products and
scaled additions round differently (they may fuse a multiply and an add).

In imresize each output starts from 0 and adds its taps in order, and no loop reorders a
sum or fuses a multiply-add, so the results equal the block-banded matrix products exactly
where the weights are dyadic (x2, x4). Either pass writes float64, or uint8 rounded as
`quantize_u8` rounds when `dst` is uint8 (the last pass of a rounded resize). The rows
pass runs along contiguous rows (SIMD), and so does the columns pass, on blocks of 8 rows
copied column-major (1.2-1.7x faster than gathering along each row). Compiled code is
cached beside this file after the first call, in numba's user cache directory when this
folder is read-only, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba
import numpy as np
import torch
from numba.core import types
from numba.extending import overload
from torch import Tensor

__all__ = [
    "applies",
    "compiled",
    "holds_bytes",
    "quantize_u8",
    "resize_cols",
    "resize_rows",
    "y_of_rgb",
]

F = TypeVar("F", bound=Callable[..., Any])


def compiled(**options: Any) -> Callable[[F], F]:
    """`numba.njit(nogil=True, **options)`, cached on disk where numba can write a cache."""

    def wrap(fn: F) -> F:
        try:
            return numba.njit(cache=True, nogil=True, **options)(fn)
        except RuntimeError:  # no writable cache directory at all: compile in each process
            return numba.njit(nogil=True, **options)(fn)

    return wrap


def applies(t: Tensor, *dtypes: torch.dtype) -> bool:
    """Whether the loops can take `t`: a CPU tensor of one of `dtypes` needing no gradient."""
    return (
        t.device.type == "cpu"
        and t.dtype in dtypes
        and not (t.requires_grad and torch.is_grad_enabled())
    )


@numba.njit
def _to_u8(v: float) -> np.uint8:
    """MATLAB's uint8() of one value: clamp to [0, 255], round half up (NaN gives 0)."""
    v = min(np.float64(v), 255.0)
    return np.uint8((v if v >= 0.0 else 0.0) + 0.5)


def _put(dst: np.ndarray, i: int, v: float) -> None:
    """dst[i] = v, rounded by `_to_u8` when dst is uint8 (compiled code only)."""
    raise NotImplementedError("only callable from compiled code")


@overload(_put)
def _put_for(dst, i, v):  # type: ignore[no-untyped-def]  # numba matches the impl's signature
    if dst.dtype == types.uint8:

        def rounded(dst, i, v):  # type: ignore[no-untyped-def]
            dst[i] = _to_u8(v)

        return rounded

    def plain(dst, i, v):  # type: ignore[no-untyped-def]
        dst[i] = v

    return plain


@compiled()
def resize_rows(src: np.ndarray, weights: np.ndarray, index: np.ndarray, dst: np.ndarray) -> None:
    """dst[b, o, :] = sum over t of weights[o, t] * src[b, index[o, t], :]."""
    acc = np.empty(dst.shape[2])
    for b in range(src.shape[0]):
        for o in range(weights.shape[0]):
            acc[:] = 0.0
            for t in range(weights.shape[1]):
                w = weights[o, t]
                row = src[b, index[o, t]]
                for j in range(acc.shape[0]):
                    acc[j] += w * row[j]
            out = dst[b, o]
            for j in range(acc.shape[0]):
                _put(out, j, acc[j])


@compiled()
def resize_cols(src: np.ndarray, weights: np.ndarray, index: np.ndarray, dst: np.ndarray) -> None:
    """dst[b, i, o] = sum over t of weights[o, t] * src[b, i, index[o, t]].

    Blocks of 8 rows are copied column-major first, so that each tap multiplies 8 adjacent
    values (SIMD) into 8 sums held in registers; the rows left over go one at a time.
    """
    outputs, taps = weights.shape
    height, width = src.shape[1], src.shape[2]
    block = np.empty((width, 8))
    sums = np.empty((outputs, 8))
    whole = height - height % 8
    for b in range(src.shape[0]):
        for top in range(0, whole, 8):
            for r in range(8):
                row = src[b, top + r]
                for k in range(width):
                    block[k, r] = row[k]
            for o in range(outputs):
                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
                for t in range(taps):
                    w, x = weights[o, t], block[index[o, t]]
                    a0 += w * x[0]
                    a1 += w * x[1]
                    a2 += w * x[2]
                    a3 += w * x[3]
                    a4 += w * x[4]
                    a5 += w * x[5]
                    a6 += w * x[6]
                    a7 += w * x[7]
                sums[o, 0], sums[o, 1], sums[o, 2], sums[o, 3] = a0, a1, a2, a3
                sums[o, 4], sums[o, 5], sums[o, 6], sums[o, 7] = a4, a5, a6, a7
            for r in range(8):
                out = dst[b, top + r]
                for o in range(outputs):
                    _put(out, o, sums[o, r])
        for i in range(whole, height):
            row, out = src[b, i], dst[b, i]
            for o in range(outputs):
                acc = 0.0
                for t in range(taps):
                    acc += weights[o, t] * row[index[o, t]]
                _put(out, o, acc)


@compiled()
def holds_bytes(src: np.ndarray) -> bool:
    """Whether every value of a flat array is a whole number in 0..255 (NaN is not)."""
    for start in range(0, src.size, 4096):  # blocks without an early exit vectorise
        good = True
        for i in range(start, min(src.size, start + 4096)):
            v = src[i]
            good &= (v >= 0.0) & (v <= 255.0) & (v == np.floor(v))
        if not good:
            return False
    return True


@compiled()
def quantize_u8(src: np.ndarray, dst: np.ndarray) -> None:
    """dst = uint8(clamp(src, 0, 255) + 0.5) of flat arrays (NaN gives 0)."""
    for i in range(src.size):
        dst[i] = _to_u8(src[i])


@compiled()
def y_of_rgb(
    src: np.ndarray, coef: tuple[float, float, float], offset: float, dst: np.ndarray
) -> None:
    """dst[n] = (coef · src[n, 0:3]) / 255 + offset of (N, 3, P) into (N, P), in float64."""
    kr, kg, kb = coef
    for n in range(src.shape[0]):
        r, g, b, y = src[n, 0], src[n, 1], src[n, 2], dst[n]
        for i in range(y.shape[0]):
            y[i] = (
                np.float64(r[i]) * kr + np.float64(g[i]) * kg + np.float64(b[i]) * kb
            ) / 255.0 + offset
