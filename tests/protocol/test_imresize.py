"""MATLAB imresize: kernels by hand, a slow loop port, torch's PIL-style resize, real images."""

from __future__ import annotations

import csv
import doctest
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from srbench.errors import ConfigError, ProtocolError
from srbench.metrics.psnr import psnr
from srbench.metrics.ssim import ssim
from srbench.protocol import PAPER
from srbench.protocol.imresize import imresize

imresize_module = sys.modules["srbench.protocol.imresize"]


# -- an independent, deliberately slow port of MATLAB's imresize.m (contributions + mirror) --
def _matlab_cubic(x: float) -> float:
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax**3 - 2.5 * ax**2 + 1
    if ax <= 2:
        return -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
    return 0.0


def _slow_resize_1d(line: np.ndarray, out_len: int, scale: float) -> np.ndarray:
    in_len = len(line)
    width = 4.0 / scale if scale < 1 else 4.0
    aux = list(range(1, in_len + 1)) + list(range(in_len, 0, -1))  # 1-based, as MATLAB
    out = np.zeros(out_len)
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        indices = [left + p for p in range(math.ceil(width) + 2)]
        if scale < 1:
            weights = [scale * _matlab_cubic(scale * (u - j)) for j in indices]
        else:
            weights = [_matlab_cubic(u - j) for j in indices]
        total = sum(weights)
        for w, j in zip(weights, indices, strict=True):
            out[x - 1] += w / total * line[aux[(j - 1) % (2 * in_len)] - 1]
    return out


def _slow_imresize(img: np.ndarray, out_size: tuple[int, int], scales: tuple[float, float]):
    order = sorted((0, 1), key=lambda d: scales[d])  # stable: height first on a tie
    for dim in order:
        img = np.apply_along_axis(_slow_resize_1d, dim, img, out_size[dim], scales[dim])
    return img


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (2, 3), (3, 8), (5, 13), (13, 6)])
@pytest.mark.parametrize("scale", [1 / 4, 0.3, 1 / 3, 1 / 2, 0.77, 1.0, 1.5, 2.0, 2.7, 3.0, 4.0])
def test_matches_slow_matlab_port_including_borders(shape: tuple[int, int], scale: float) -> None:
    # Tiny images make the mirror wrap several times: MATLAB's mod() rule, not a pad.
    img = np.random.default_rng(sum(shape)).uniform(0, 255, shape)
    out_size = (math.ceil(scale * shape[0]), math.ceil(scale * shape[1]))
    expected = _slow_imresize(img, out_size, (scale, scale))
    got = imresize(torch.from_numpy(img), scale)
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-10)


def test_size_argument_matches_slow_port() -> None:
    img = np.random.default_rng(3).uniform(0, 255, (9, 14))
    expected = _slow_imresize(img, (20, 5), (20 / 9, 5 / 14))
    got = imresize(torch.from_numpy(img), size=(20, 5))
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-10)


def _response_matrix(in_len: int, **kwargs: object) -> torch.Tensor:
    """(out, in) matrix of the width pass: the resized unit impulses, one per input pixel."""
    impulses = torch.eye(in_len, dtype=torch.float64).view(in_len, 1, in_len)
    return imresize(impulses, **kwargs)[:, 0, :].T


def test_half_scale_antialiased_kernel_by_hand() -> None:
    # h(x) = 0.5 * cubic(0.5 x) at distances ±0.5, ±1.5, ±2.5, ±3.5: dyadic numbers.
    rows = _response_matrix(16, size=(1, 8))
    taps = torch.tensor([-3, -9, 29, 111, 111, 29, -9, -3], dtype=torch.float64) / 256
    for j in (2, 3, 4, 5):  # interior outputs read inputs 2j-3 .. 2j+4
        expected = torch.zeros(16, dtype=torch.float64)
        expected[2 * j - 3 : 2 * j + 5] = taps
        torch.testing.assert_close(rows[j], expected, rtol=0, atol=1e-15)
    # First output: taps at 1-based -2, -1, 0 mirror onto 3, 2, 1 (symmetric, edge repeated).
    border = torch.tensor([140, 102, 26, -9, -3] + [0] * 11, dtype=torch.float64) / 256
    torch.testing.assert_close(rows[0], border, rtol=0, atol=1e-15)


def test_double_scale_kernel_by_hand() -> None:
    rows = _response_matrix(8, size=(1, 16))
    # Output j (0-based) sits at u = j/2 + 0.75 (1-based input coordinates): row 6 at 3.75
    # reads inputs 2..5 at distances 1.75, 0.75, -0.25, -1.25; row 7 at 4.25 reads 3..6.
    taps = torch.tensor([-3, 29, 111, -9], dtype=torch.float64) / 128
    torch.testing.assert_close(rows[6, 1:5], taps, rtol=0, atol=1e-15)
    torch.testing.assert_close(rows[7, 2:6], taps.flip(0), rtol=0, atol=1e-15)
    assert rows[6].count_nonzero() == 4


def test_interior_equals_torch_pil_style_resize_and_borders_do_not() -> None:
    # torch's antialiased bicubic uses a = -0.5 like MATLAB but clips and renormalises the
    # kernel at the border instead of mirroring: same interior, different border.
    img = torch.rand(1, 1, 72, 72, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for scale in (1 / 2, 1 / 3, 1 / 4, 2.0, 3.0):
        ours = imresize(img * 255, scale)
        pil_like = F.interpolate(img * 255, scale_factor=scale, mode="bicubic", antialias=True)
        m = 3 if scale < 1 else 2 * int(scale)
        inner = (ours - pil_like)[..., m:-m, m:-m].abs().max()
        assert inner < 1e-9, scale
        assert (ours - pil_like).abs().max() > 1.0, scale


@pytest.mark.parametrize(
    ("in_len", "scale", "out_len"),
    [(7, 0.5, 4), (100, 1 / 3, 34), (7, 1.5, 11), (17, 0.3, 6), (5, 2.5, 13), (1, 0.25, 1)],
)
def test_output_size_is_matlab_ceil(in_len: int, scale: float, out_len: int) -> None:
    out = imresize(torch.zeros(2, in_len, in_len + 2, dtype=torch.float64), scale)
    assert out.shape == (2, out_len, math.ceil(scale * (in_len + 2)))


def test_modcropped_sizes_shrink_exactly() -> None:
    for s in (2, 3, 4, 6, 8):
        assert all(math.ceil(n * (1 / s)) == n // s for n in range(s, 4000, s))


def _passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The dims of every resize pass imresize runs from now on, in order."""
    dims: list[int] = []
    compiled, banded = imresize_module._resize_compiled, imresize_module._resize_banded

    def record_both(img, passes, *args: object) -> torch.Tensor:
        dims.extend(dim for dim, _, _ in passes)
        return compiled(img, passes, *args)

    def record_one(img, dim, *args: object) -> torch.Tensor:
        dims.append(dim)
        return banded(img, dim, *args)

    monkeypatch.setattr(imresize_module, "_resize_compiled", record_both)
    monkeypatch.setattr(imresize_module, "_resize_banded", record_one)
    return dims


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])  # compiled, banded
def test_shrinking_dimension_goes_first(monkeypatch: pytest.MonkeyPatch, dtype) -> None:
    dims = _passes(monkeypatch)
    img = torch.rand(1, 12, 12, dtype=dtype)
    imresize(img, size=(10, 4))
    imresize(img, size=(4, 10))
    imresize(img, 0.5)
    assert dims == [1, 0] + [0, 1] * 2


def test_whole_numbers_enlarged_by_2_or_4_take_the_columns_pass_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dims = _passes(monkeypatch)
    img = torch.randint(0, 256, (3, 9, 7), generator=torch.Generator().manual_seed(0))
    for scale in (2.0, 4.0):
        imresize(img.to(torch.uint8), scale)
        imresize(img.double(), scale)
    assert dims == [1, 0] * 4  # free: every product and sum is exact in either order
    dims.clear()
    imresize(img.double() + 0.5, 2.0)  # not whole numbers
    imresize(img.double() * 2, 2.0)  # beyond 255
    imresize(img.double(), 3.0)  # weights that are not dyadic
    imresize(img.double(), 0.5)  # shrinking: MATLAB's order is already the cheaper one
    assert dims == [0, 1] * 4


def test_the_order_is_judged_on_the_weights_the_passes_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dims = _passes(monkeypatch)
    img = torch.randint(0, 256, (3, 9, 7), dtype=torch.uint8)
    imresize(img, 1.9999999)  # output 2x the size, but weights of scale 1.9999999: not dyadic
    assert dims == [0, 1]


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 19),
    w=st.integers(1, 19),
    scale=st.floats(0.2, 4.5),
    value=st.floats(-300, 300),
)
def test_constant_image_stays_constant(h: int, w: int, scale: float, value: float) -> None:
    out = imresize(torch.full((h, w), value, dtype=torch.float64), scale)
    assert out.shape == (math.ceil(scale * h), math.ceil(scale * w))
    torch.testing.assert_close(out, torch.full_like(out, value), rtol=0, atol=1e-11)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.sampled_from([0.25, 1 / 3, 0.6, 2.0, 3.5]))
def test_linear(seed: int, scale: float) -> None:
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.rand(2, 2, 9, 11, dtype=torch.float64, generator=gen) * 255
    lhs = imresize(3 * x - 0.5 * y, scale)
    rhs = 3 * imresize(x, scale) - 0.5 * imresize(y, scale)
    torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-10)


def test_leading_dims_are_independent_images() -> None:
    batch = torch.rand(2, 3, 10, 7, dtype=torch.float64) * 255
    out = imresize(batch, 1 / 3)
    for n in range(2):
        for c in range(3):
            torch.testing.assert_close(out[n, c], imresize(batch[n, c], 1 / 3), rtol=0, atol=1e-12)
    assert out.is_contiguous()


def test_float32_is_close_to_float64_and_keeps_dtype() -> None:
    img = torch.rand(3, 64, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for scale in (1 / 4, 3.0):
        ref = imresize(img * 255, scale)
        out = imresize((img * 255).float(), scale)
        assert out.dtype == torch.float32
        assert (out.double() - ref).abs().max() < 2e-4


def test_differentiable() -> None:
    # The in-place fast path is skipped when autograd needs the graph; the map is linear.
    img = torch.rand(2, 5, 7, dtype=torch.float64, requires_grad=True)
    for kwargs in ({"scale": 0.5}, {"scale": 1.5}, {"size": (3, 9)}):
        assert torch.autograd.gradcheck(lambda x, kw=kwargs: imresize(x, **kw), (img,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu() -> None:
    img = torch.rand(1, 3, 40, 30, dtype=torch.float64) * 255
    for scale in (1 / 3, 2.0):
        out = imresize(img.cuda(), scale)
        assert out.device.type == "cuda"
        torch.testing.assert_close(out.cpu(), imresize(img, scale), rtol=0, atol=1e-9)
        u8 = img.to(torch.uint8)
        on_gpu = imresize(u8.cuda(), scale).cpu()
        torch.testing.assert_close(on_gpu, imresize(u8, scale), rtol=0, atol=1e-9)


def test_refuses_other_integer_images() -> None:
    with pytest.raises(ProtocolError, match="needs a floating-point or uint8 image") as info:
        imresize(torch.zeros(4, 4, dtype=torch.int16), 0.5)
    assert ".double()" in info.value.hint


@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(2, 40),
    w=st.integers(2, 40),
    scale=st.sampled_from([1 / 4, 1 / 3, 1 / 2, 2.0, 3.0, 4.0]),
    size=st.none() | st.tuples(st.integers(1, 50), st.integers(1, 50)),
    seed=st.integers(0, 2**16),
)
def test_uint8_images_resize_exactly_as_their_float64(
    h: int, w: int, scale: float, size: tuple[int, int] | None, seed: int
) -> None:
    img = torch.randint(
        0, 256, (2, 3, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )
    kwargs = {"size": size} if size is not None else {"scale": scale}
    out = imresize(img, **kwargs)
    assert out.dtype == torch.float64
    assert torch.equal(out, imresize(img.double(), **kwargs))  # the compiled loops
    banded = imresize(img.double().requires_grad_(), **kwargs)  # torch's matrix products
    torch.testing.assert_close(out, banded.detach(), rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of"),
        ({"scale": 0.5, "size": (2, 2)}, "exactly one of"),
        ({"scale": 0.0}, "scale must be a positive number"),
        ({"scale": float("nan")}, "scale must be a positive number"),
        ({"size": (2, 0)}, "size must be two positive integers"),
        ({"size": (2.5, 3)}, "size must be two positive integers"),
    ],
)
def test_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        imresize(torch.zeros(4, 4, dtype=torch.float64), **kwargs)


def test_refuses_empty_image() -> None:
    with pytest.raises(ProtocolError, match=r"non-empty \(\.\.\., H, W\) image"):
        imresize(torch.zeros(0, 4, dtype=torch.float64), 2.0)


def test_docstring_examples() -> None:
    results = doctest.testmod(imresize_module)
    assert results.attempted > 0 and results.failed == 0


def _read_u8(path: Path) -> torch.Tensor:
    """PNG -> uint8 (1, C, H, W); a 1-channel image stays 1-channel."""
    array = np.asarray(Image.open(path))
    chw = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(chw.copy())[None]


def test_bicubic_protocol_matches_reference_per_image(data_root: Path) -> None:
    """Every row of the independent BasicSR-port table, within 2e-3 dB and 1e-4 SSIM."""
    with (data_root / "reference_bicubic_per_image.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 57
    offenders = []
    for row in rows:
        scale = int(row["scale"])
        hr = PAPER.crop_hr(_read_u8(data_root / row["dataset"] / row["image"]), scale)
        assert hr.shape[1] == int(row["channels"])
        sr = imresize(PAPER.make_lr(hr, scale).double(), scale)
        sr_y, hr_y = PAPER.prepare(sr, hr, scale).view("y255")
        got = (psnr(sr_y, hr_y).item(), ssim(sr_y, hr_y).item())
        if abs(got[0] - float(row["psnr"])) > 2e-3 or abs(got[1] - float(row["ssim"])) > 1e-4:
            offenders.append(f"{row['dataset']}/{row['image']} x{scale}: {got} vs {row}")
    assert not offenders, "\n".join(offenders)
