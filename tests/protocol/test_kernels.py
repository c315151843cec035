"""The compiled CPU loops compute what the torch code beside them computes.

Each public function takes the compiled path for a CPU tensor that needs no gradient and
the torch path otherwise; a tensor that requires grad, under grad mode, forces the torch
path here, so the two are compared on the same input.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import srbench
from srbench.protocol import kernels, quantize
from srbench.protocol.color import rgb_to_y
from srbench.protocol.imresize import imresize


def _torch_path(fn, img: torch.Tensor, *args: object) -> torch.Tensor:
    with torch.enable_grad():
        return fn(img.double().requires_grad_(True), *args).detach()


def _image(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=gen).double()


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    height=st.integers(4, 60),
    width=st.integers(4, 60),
    scale=st.sampled_from([2, 4, 1 / 2, 1 / 4]),
)
def test_imresize_equals_the_banded_products_at_dyadic_scales(
    seed: int, height: int, width: int, scale: float
) -> None:
    img = _image(seed, (2, 3, height, width))
    assert torch.equal(imresize(img, scale), _torch_path(imresize, img, scale))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    height=st.integers(4, 60),
    width=st.integers(4, 60),
    scale=st.sampled_from([3, 1 / 3, 0.7, 1.6]),
)
def test_imresize_agrees_to_the_last_bits_and_rounds_the_same(
    seed: int, height: int, width: int, scale: float
) -> None:
    img = _image(seed, (3, height, width))
    ours, banded = imresize(img, scale), _torch_path(imresize, img, scale)
    torch.testing.assert_close(ours, banded, rtol=0, atol=1e-12)
    assert torch.equal(quantize(ours), quantize(banded))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    height=st.integers(4, 40),
    width=st.integers(4, 40),
    scale=st.sampled_from([2, 3, 4, 1 / 2, 1 / 3, 1 / 4, 0.7, 1.6]),
    uint8=st.booleans(),
)
def test_rounding_in_the_last_pass_equals_rounding_afterwards(
    seed: int, height: int, width: int, scale: float, uint8: bool
) -> None:
    img = _image(seed, (2, 3, height, width))
    img = img.to(torch.uint8) if uint8 else img * 1.37 - 40  # floats beyond 0..255 too
    rounded = imresize(img, scale, quantized=True)
    assert rounded.dtype == torch.uint8
    assert torch.equal(rounded, quantize(imresize(img, scale)))
    if uint8:  # whole numbers: no sum lands within the paths' last-bit differences of a tie
        assert torch.equal(rounded, quantize(_torch_path(imresize, img, scale)))


def test_imresize_keeps_leading_dimensions_and_size_argument() -> None:
    img = _image(1, (2, 2, 3, 17, 9))
    out = imresize(img, size=(5, 20))
    assert out.shape == (2, 2, 3, 5, 20) and out.is_contiguous()
    banded = _torch_path(lambda x: imresize(x, size=(5, 20)), img)
    torch.testing.assert_close(out, banded, rtol=0, atol=1e-12)


def test_imresize_reads_non_contiguous_views() -> None:
    img = _image(2, (3, 40, 30))
    view = img.transpose(-1, -2)
    assert torch.equal(imresize(view, 0.5), imresize(view.contiguous(), 0.5))


def _plain_pass(src: np.ndarray, weights: np.ndarray, index: np.ndarray, axis: int) -> np.ndarray:
    """One resize pass as the plain loop computes it: taps added in order from 0."""
    out = 0.0
    for t in range(weights.shape[1]):
        taken = np.take(src.astype(np.float64), index[:, t], axis=axis)
        shape = [1, 1, 1]
        shape[axis] = -1
        out = out + weights[:, t].reshape(shape) * taken
    return out


@pytest.mark.parametrize("rows_first", [True, False])
@pytest.mark.parametrize("size", [1, 7, 8, 15, 16, 17, 31, 32, 33, 70])
@pytest.mark.parametrize("src_dtype", [np.uint8, np.float64])
@pytest.mark.parametrize("dst_dtype", [np.uint8, np.float64])
def test_both_passes_equal_two_plain_loops_at_every_block_edge(
    rows_first: bool, size: int, src_dtype: type, dst_dtype: type
) -> None:
    """The vector loops take 16 rows and 8 or 32 columns at a time: sizes around those,
    in and out of either pass."""
    rng = np.random.default_rng(size)
    src = (rng.random((2, size, size + 3)) * 300 - 20).astype(src_dtype)  # beyond 0..255
    rows = (rng.standard_normal((size + 2, 5)), rng.integers(0, size, (size + 2, 5)), 1)
    cols = (rng.standard_normal((size + 4, 3)), rng.integers(0, size + 3, (size + 4, 3)), 2)
    first, last = (rows, cols) if rows_first else (cols, rows)
    expected = _plain_pass(_plain_pass(src, *first), *last)
    dst = np.empty(expected.shape, dst_dtype)
    both = kernels.resize_rows_cols if rows_first else kernels.resize_cols_rows
    both(src, *first[:2], *last[:2], dst)
    if dst_dtype is np.uint8:
        expected = quantize(torch.from_numpy(expected)).numpy()
    assert np.array_equal(dst, expected)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.0, 255.0, 17.0, -0.0], True),
        ([0.0, 255.5], False),
        ([256.0], False),
        ([-1.0], False),
        ([3.0, math.nan], False),
        ([math.inf], False),
        ([1e-300], False),
    ],
)
def test_holds_bytes_accepts_only_whole_numbers_in_0_to_255(
    values: list[float], expected: bool
) -> None:
    assert kernels.holds_bytes(torch.tensor(values, dtype=torch.float64).numpy()) is expected


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float64])
def test_rgb_to_y_agrees_with_the_torch_path(dtype: torch.dtype) -> None:
    img = _image(4, (2, 3, 31, 17)).to(dtype)
    ours = rgb_to_y(img)
    assert ours.shape == (2, 1, 31, 17) and ours.dtype == torch.float64
    torch.testing.assert_close(ours, _torch_path(rgb_to_y, img), rtol=0, atol=1e-12)


def test_compiled_loops_work_where_no_cache_can_be_written(tmp_path: Path) -> None:
    """A read-only install (here: `__pycache__` is a file) and an unwritable home."""
    package = tmp_path / "srbench"
    shutil.copytree(
        Path(srbench.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    (package / "protocol" / "__pycache__").write_text("not a directory")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_"))}
    env.update(PYTHONPATH=str(tmp_path), HOME="/dev/null")
    code = (
        "import torch; from srbench.protocol.imresize import imresize; "
        "print(imresize(torch.full((1, 4, 4), 7.0, dtype=torch.float64), 2).sum().item())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == 7.0 * 64


def test_compiled_falls_back_to_compiling_without_a_cache(monkeypatch) -> None:
    real = kernels.numba.njit

    def njit(*args: object, cache: bool = False, **options: object):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return real(*args, **options)

    monkeypatch.setattr(kernels.numba, "njit", njit)

    @kernels.compiled()
    def twice(x: float) -> float:
        return 2 * x

    assert twice(3.5) == 7.0
