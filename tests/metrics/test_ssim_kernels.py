"""The fast float32 SSIM kernels agree with a direct 11x11 float64 filter and formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srbench.errors import ProtocolError
from srbench.metrics.ssim import K1, K2, WINDOW, filter_valid, ssim, ssim_maps_mean

FLOAT32_TOL = 2e-6  # the documented distance of srbench's SSIM from a float64 computation


def _dense(maps: torch.Tensor) -> torch.Tensor:
    """'valid' 11x11 float64 filtering of (M, H, W) maps."""
    taps = torch.tensor(WINDOW, dtype=torch.float64)
    window = (taps[:, None] * taps[None, :]).view(1, 1, 11, 11)
    return F.conv2d(maps.double().unsqueeze(1), window).squeeze(1)


def _reference_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Textbook five-moment SSIM in float64 with a dense 11x11 window: (1, 1, H, W) -> scalar."""
    x, y = x[0].double(), y[0].double()
    mu_x, mu_y = _dense(x), _dense(y)
    s_xx = _dense(x * x) - mu_x**2
    s_yy = _dense(y * y) - mu_y**2
    s_xy = _dense(x * y) - mu_x * mu_y
    c1, c2 = (K1 * 255) ** 2, (K2 * 255) ** 2
    num = (2 * mu_x * mu_y + c1) * (2 * s_xy + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (s_xx + s_yy + c2)
    return (num / den).mean()


# 11: one output pixel; then shapes around the SIMD widths and a non-square one
@pytest.mark.parametrize("size", [(11, 11), (12, 40), (42, 43), (75, 33), (100, 70)])
def test_filter_matches_a_dense_window(size: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(sum(size))
    maps = torch.rand(4, *size, generator=gen) * 255
    dense = _dense(maps)
    for out in (filter_valid(maps),):
        assert out.shape == (4, size[0] - 10, size[1] - 10)
        torch.testing.assert_close(out.double(), dense, rtol=0, atol=1e-4)


@pytest.mark.parametrize("size", [(11, 11), (42, 43), (75, 33)])
def test_ssim_matches_the_five_moment_formula(size: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(1, 1, *size, generator=gen, dtype=torch.float64) * 255
    y = (x + torch.randn(x.shape, generator=gen, dtype=torch.float64) * 9).clamp(0, 255)
    torch.testing.assert_close(ssim(x, y)[0], _reference_ssim(x, y), rtol=0, atol=FLOAT32_TOL)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    level=st.floats(16, 235),
    contrast=st.floats(0, 110),
    noise=st.floats(0, 40),
    height=st.integers(11, 60),
    width=st.integers(11, 60),
)
def test_float32_stays_within_its_bound_of_float64(
    seed: int, level: float, contrast: float, noise: float, height: int, width: int
) -> None:
    # Y-range images from flat to full contrast, SR from identical to very noisy: the
    # cancellation float32 risks is worst for bright, flat, similar images.
    gen = torch.Generator().manual_seed(seed)
    shape = (1, 1, height, width)
    hr = (level + contrast * (torch.rand(shape, generator=gen, dtype=torch.float64) - 0.5)).clamp(
        16, 235
    )
    sr = (hr + noise * torch.randn(shape, generator=gen, dtype=torch.float64)).clamp(16, 235)
    assert abs(ssim(sr, hr).item() - _reference_ssim(sr, hr).item()) <= FLOAT32_TOL


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_ssim_matches_cpu() -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 70, 90, generator=gen, dtype=torch.float64) * 255
    y = x.flip(-1)
    torch.testing.assert_close(ssim(x.cuda(), y.cuda()).cpu(), ssim(x, y), rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [(11, 11), (12, 40), (75, 33)])
def test_compiled_ssim_agrees_with_the_torch_path(size: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(11)
    x = torch.randint(0, 256, (3, *size), generator=gen).double()
    y = (x + torch.randint(-12, 13, x.shape, generator=gen)).clamp(0, 255)
    compiled = ssim_maps_mean(x, y)
    torch_path = ssim_maps_mean(x.half(), y.half())  # exact integers; float16 is not compiled
    torch.testing.assert_close(compiled, torch_path, rtol=0, atol=FLOAT32_TOL)
    assert compiled.dtype == torch.float64 and compiled.shape == (3,)


@pytest.mark.parametrize(
    ("x_shape", "y_shape"), [((1, 20, 20), (1, 20, 21)), ((20, 20), (20, 20)), ((2, 10, 30),) * 2]
)
def test_ssim_maps_mean_refuses_what_its_loop_cannot_read(x_shape, y_shape) -> None:
    with pytest.raises(ProtocolError, match="ssim"):
        ssim_maps_mean(torch.zeros(x_shape, dtype=torch.float64), torch.zeros(y_shape))
