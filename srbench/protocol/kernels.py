"""The protocol's per-pixel steps as compiled loops (numba) for CPU arrays.

One pass over memory per step, where torch needs a pass and a temporary per operation:
imresize's two 1-D passes, quantisation to uint8 and MATLAB Y (SSIM's loop is in
`srbench/metrics/ssim.py`). Each does the arithmetic of the torch code beside it
(`imresize`, `quantize`, `rgb_to_y`), which still runs for other devices and dtypes and
for autograd; results agree to the last bit or two, where torch's matrix products and
scaled additions round differently (they may fuse a multiply and an add).

In imresize each output starts from 0 and adds its taps in order, and no loop reorders a
sum or fuses a multiply-add, so the results equal the block-banded matrix products exactly
where the weights are dyadic (x2, x4). A resize is one loop over bands of 16 rows, each
band through both passes in turn, so that the float64 rows between the passes are read
back from cache, not memory (16-28 % faster than two whole passes); it writes float64, or
uint8 rounded as `quantize_u8` rounds when `dst` is uint8.

Both passes do their multiplies and adds on 8-wide float64 vectors written out as LLVM IR
(numba intrinsics, below), because numba leaves LLVM's SLP vectoriser off (numba#8852) and
its loop vectoriser cannot keep running sums in registers: the rows pass 32 adjacent
columns at a time, the columns pass 16 rows at a time, transposed into a column-major block
and back by 8x8 vector shuffles. Against the scalar loops they replace (same bits): the
columns pass 2-3x faster, the rows pass 1.1-1.4x, a whole cold bicubic table 19 % (on one
2-core VM, 2026-12-05). The intrinsics live here, not in a module of their own, because
numba's disk cache of these loops is invalidated only when this file changes. Compiled
code is cached beside this file after the first call, in numba's user cache directory when
this folder is read-only, or not at all.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import torch
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload
from torch import Tensor

from srbench.jit import compiled

__all__ = [
    "applies",
    "holds_bytes",
    "quantize_u8",
    "resize_cols_rows",
    "resize_rows_cols",
    "y_of_rgb",
]


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


_LANES = 16  # rows per block of the columns pass: two 8-wide vectors of sums per output
_I32, _I64, _F64 = ir.IntType(32), ir.IntType(64), ir.DoubleType()
_V8 = ir.VectorType(_F64, 8)


def _shuffle(builder: ir.IRBuilder, a: ir.Value, b: ir.Value, mask: list[int]) -> ir.Value:
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(_I32, 8), mask))


def _transposed(builder: ir.IRBuilder, rows: list[ir.Value]) -> list[ir.Value]:
    """The columns of an 8x8 matrix held as 8 row vectors: three rounds of pairwise shuffles
    (2x2, then 4x4, then 8x8 blocks)."""
    pairs = []
    for i in range(0, 8, 2):
        pairs.append(_shuffle(builder, rows[i], rows[i + 1], [0, 8, 2, 10, 4, 12, 6, 14]))
        pairs.append(_shuffle(builder, rows[i], rows[i + 1], [1, 9, 3, 11, 5, 13, 7, 15]))
    quads: list[ir.Value] = [None] * 8  # type: ignore[list-item]
    for base in (0, 4):
        for j in (0, 1):
            a, b = pairs[base + j], pairs[base + j + 2]
            quads[base + j] = _shuffle(builder, a, b, [0, 1, 8, 9, 4, 5, 12, 13])
            quads[base + j + 2] = _shuffle(builder, a, b, [2, 3, 10, 11, 6, 7, 14, 15])
    low, high = [0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]
    return [
        _shuffle(builder, quads[i % 4], quads[i % 4 + 4], low if i < 4 else high) for i in range(8)
    ]


def _address(
    builder: ir.IRBuilder, array: Any, row: ir.Value, col: ir.Value, item: int
) -> ir.Value:
    """The address of array[row, col] as an integer, for elements of `item` bytes."""
    stride = builder.extract_value(array.strides, 0)
    offset = builder.add(builder.mul(row, stride), builder.mul(col, ir.Constant(_I64, item)))
    return builder.add(builder.ptrtoint(array.data, _I64), offset)


def _load8(
    builder: ir.IRBuilder, array: Any, uint8: bool, row: ir.Value, col: ir.Value
) -> ir.Value:
    """array[row, col:col + 8] as 8 float64 lanes (uint8 values widened)."""
    if not uint8:
        at = _address(builder, array, row, col, 8)
        return builder.load(builder.inttoptr(at, _V8.as_pointer()), align=8)
    at = _address(builder, array, row, col, 1)
    values = builder.load(
        builder.inttoptr(at, ir.VectorType(ir.IntType(8), 8).as_pointer()), align=1
    )
    return builder.uitofp(values, _V8)


def _is_rows(t: types.Type, *dtypes: types.Type) -> bool:
    """A C-contiguous 2-D array of one of `dtypes`."""
    return isinstance(t, types.Array) and t.ndim == 2 and t.layout == "C" and t.dtype in dtypes


@intrinsic
def _transpose8(typingctx, src, r0, c0, dst, d0, e0):  # type: ignore[no-untyped-def]
    """dst[d0 + j, e0 + i] = src[r0 + i, c0 + j] for i, j in 0..7: eight row loads (uint8
    widened to float64), eight shuffled vectors, eight row stores."""
    if not (_is_rows(src, types.float64, types.uint8) and _is_rows(dst, types.float64)):
        return None
    sig = types.void(src, r0, c0, dst, d0, e0)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        a_src, _, _, a_dst, _, _ = signature.args
        source = context.make_array(a_src)(context, builder, args[0])
        target = context.make_array(a_dst)(context, builder, args[3])
        r0, c0, d0, e0 = (
            context.cast(builder, args[k], signature.args[k], types.intp) for k in (1, 2, 4, 5)
        )
        uint8 = a_src.dtype == types.uint8
        rows = [
            _load8(builder, source, uint8, builder.add(r0, ir.Constant(_I64, i)), c0)
            for i in range(8)
        ]
        for j, column in enumerate(_transposed(builder, rows)):
            at = _address(builder, target, builder.add(d0, ir.Constant(_I64, j)), e0, 8)
            builder.store(column, builder.inttoptr(at, _V8.as_pointer()), align=8)
        return context.get_dummy_value()

    return sig, codegen


def _tap_sums(vectors: int) -> Any:
    """An intrinsic `f(src, weights, index, col, out)` that sets `out[col:col + n]` to the
    sum over t of `weights[t] * src[index[t], col:col + n]`, n = 8 * `vectors`, in `vectors`
    8-wide float64 registers (uint8 `src` widened). Each sum starts at 0 and adds its taps
    in order, a multiply then an add, never fused: the bits of the plain scalar loop."""

    @intrinsic
    def tap_sums(typingctx, src, weights, index, col, out):  # type: ignore[no-untyped-def]
        if not (
            _is_rows(src, types.float64, types.uint8)
            and all(
                isinstance(t, types.Array) and t.ndim == 1 and t.layout == "C"
                for t in (weights, index, out)
            )
            and weights.dtype == out.dtype == types.float64
            and isinstance(index.dtype, types.Integer)
        ):
            return None
        sig = types.void(src, weights, index, col, out)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            a_src, a_wts, a_idx, a_col, a_out = signature.args
            source = context.make_array(a_src)(context, builder, args[0])
            wts = context.make_array(a_wts)(context, builder, args[1])
            idx = context.make_array(a_idx)(context, builder, args[2])
            out = context.make_array(a_out)(context, builder, args[4])
            col = context.cast(builder, args[3], a_col, types.intp)
            uint8 = a_src.dtype == types.uint8
            zero = ir.Constant(_V8, [0.0] * 8)
            accs = [cgutils.alloca_once_value(builder, zero) for _ in range(vectors)]
            with cgutils.for_range(builder, builder.extract_value(wts.shape, 0)) as loop:
                weight = builder.load(builder.gep(wts.data, [loop.index]))
                row = builder.load(builder.gep(idx.data, [loop.index]))
                row = context.cast(builder, row, a_idx.dtype, types.intp)
                splat = builder.insert_element(ir.Constant(_V8, None), weight, ir.Constant(_I32, 0))
                splat = _shuffle(builder, splat, splat, [0] * 8)
                for k, acc in enumerate(accs):
                    values = _load8(
                        builder, source, uint8, row, builder.add(col, ir.Constant(_I64, 8 * k))
                    )
                    builder.store(builder.fadd(builder.load(acc), builder.fmul(splat, values)), acc)
            for k, acc in enumerate(accs):
                at = builder.gep(out.data, [builder.add(col, ir.Constant(_I64, 8 * k))])
                builder.store(builder.load(acc), builder.bitcast(at, _V8.as_pointer()), align=8)
            return context.get_dummy_value()

        return sig, codegen

    return tap_sums


_sums16, _sums32 = _tap_sums(2), _tap_sums(4)


@numba.njit(nogil=True)
def _rows_pass_row(image: np.ndarray, taps: np.ndarray, index: np.ndarray, acc: np.ndarray) -> None:
    """acc[:] = sum over t of taps[t] * image[index[t], :]: 32 columns at a time in
    registers, the last width % 32 one by one."""
    width = acc.shape[0]
    wide = width - width % 32
    for j in range(0, wide, 32):
        _sums32(image, taps, index, j, acc)
    for j in range(wide, width):
        total = 0.0
        for t in range(taps.shape[0]):
            total += taps[t] * image[index[t], j]
        acc[j] = total


@numba.njit(nogil=True)
def _cols_pass_block(
    image: np.ndarray,
    top: int,
    count: int,
    weights: np.ndarray,
    index: np.ndarray,
    block: np.ndarray,
    sums: np.ndarray,
    rows: np.ndarray,
) -> None:
    """rows[r, o] = sum over t of weights[o, t] * image[top + r, index[o, t]] for r < count
    <= 16: the rows transposed into `block` (width, 16) by 8x8 vector shuffles (zero-padded
    when fewer than 16), each tap one broadcast weight times 16 adjacent values into `sums`
    (outputs + 8, 16), transposed back into `rows` (16, outputs + 8)."""
    width = block.shape[0]
    wide = width - width % 8
    if count == _LANES:
        for h in range(0, _LANES, 8):
            for k in range(0, wide, 8):
                _transpose8(image, top + h, k, block, k, h)
        for k in range(wide, width):
            for r in range(_LANES):
                block[k, r] = image[top + r, k]
    else:
        block[:] = 0.0
        for k in range(width):
            for r in range(count):
                block[k, r] = image[top + r, k]
    outputs = weights.shape[0]
    for o in range(outputs):
        _sums16(block, weights[o], index[o], 0, sums[o])
    for h in range(0, _LANES, 8):
        for o in range(0, outputs, 8):
            _transpose8(sums, o, h, rows, h, o)


@numba.njit(nogil=True)
def _cols_buffers(width: int, outputs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_cols_pass_block`'s block, sums and rows (the +8: its transposes back take whole
    groups of 8 outputs)."""
    return (
        np.zeros((width, _LANES)),
        np.zeros((outputs + 8, _LANES)),
        np.empty((_LANES, outputs + 8)),
    )


@numba.njit(nogil=True)
def _put_rows(rows: np.ndarray, count: int, dst: np.ndarray, top: int) -> None:
    """dst[top + r, :] = rows[r, :width of dst] for r < count, through `_put`."""
    for r in range(count):
        out, values = dst[top + r], rows[r]
        for o in range(out.shape[0]):
            _put(out, o, values[o])


@compiled()
def resize_rows_cols(
    src: np.ndarray,
    row_weights: np.ndarray,
    row_index: np.ndarray,
    col_weights: np.ndarray,
    col_index: np.ndarray,
    dst: np.ndarray,
) -> None:
    """Resample along the rows (dim 1 of src, by `row_*`), then along the columns (dim 2,
    by `col_*`), into dst: each pass's output[o] = sum over t of weights[o, t] *
    input[index[o, t]]. Bands of 16 output rows go through both passes in turn, so that the
    intermediate rows stay in cache instead of making a round trip through memory."""
    width, height = src.shape[2], row_weights.shape[0]
    band = np.zeros((_LANES, width))
    block, sums, rows = _cols_buffers(width, col_weights.shape[0])
    for b in range(src.shape[0]):
        for top in range(0, height, _LANES):
            count = min(_LANES, height - top)
            for r in range(count):
                _rows_pass_row(src[b], row_weights[top + r], row_index[top + r], band[r])
            _cols_pass_block(band, 0, count, col_weights, col_index, block, sums, rows)
            _put_rows(rows, count, dst[b], top)


@compiled()
def resize_cols_rows(
    src: np.ndarray,
    col_weights: np.ndarray,
    col_index: np.ndarray,
    row_weights: np.ndarray,
    row_index: np.ndarray,
    dst: np.ndarray,
) -> None:
    """`resize_rows_cols` with the passes the other way round: along the columns, then the
    rows. The intermediate rows are made 16 at a time just before the first output row that
    reads them, so that they are read back from cache."""
    height, outputs = src.shape[1], col_weights.shape[0]
    mid = np.empty((height, outputs))
    acc = np.empty(outputs)
    block, sums, rows = _cols_buffers(src.shape[2], outputs)
    for b in range(src.shape[0]):
        done = 0  # rows of `mid` made for this image
        for o in range(row_weights.shape[0]):
            while done <= row_index[o].max():
                count = min(_LANES, height - done)
                _cols_pass_block(src[b], done, count, col_weights, col_index, block, sums, rows)
                _put_rows(rows, count, mid, done)
                done += count
            _rows_pass_row(mid, row_weights[o], row_index[o], acc)
            out = dst[b, o]
            for j in range(outputs):
                _put(out, j, acc[j])


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
