"""The fast SSIM kernels agree with a direct 11x11 float64 filter on every block layout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from srbench.metrics.ssim import K1, K2, WINDOW, _filter_conv, filter_valid, ssim


def _reference_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Textbook five-moment SSIM with a dense 11x11 window: (1, 1, H, W) pairs -> scalar."""
    taps = torch.tensor(WINDOW, dtype=torch.float64)
    window = (taps[:, None] * taps[None, :]).view(1, 1, 11, 11)
    mu_x, mu_y = F.conv2d(x, window), F.conv2d(y, window)
    s_xx = F.conv2d(x * x, window) - mu_x**2
    s_yy = F.conv2d(y * y, window) - mu_y**2
    s_xy = F.conv2d(x * y, window) - mu_x * mu_y
    c1, c2 = (K1 * 255) ** 2, (K2 * 255) ** 2
    num = (2 * mu_x * mu_y + c1) * (2 * s_xy + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (s_xx + s_yy + c2)
    return (num / den).mean()


# 11: one output pixel; 42/43: one full block of 32 rows and a tail; 75: two blocks and a tail
@pytest.mark.parametrize("size", [(11, 11), (12, 40), (42, 43), (75, 33), (100, 70)])
def test_banded_filter_matches_a_dense_window(size: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(sum(size))
    maps = torch.rand(3, *size, generator=gen, dtype=torch.float64) * 255
    taps = torch.tensor(WINDOW, dtype=torch.float64)
    window = (taps[:, None] * taps[None, :]).view(1, 1, 11, 11)
    dense = F.conv2d(maps.unsqueeze(1), window).squeeze(1)
    banded = filter_valid(maps)  # on CPU: the transposed maps
    torch.testing.assert_close(banded.transpose(-1, -2), dense, rtol=0, atol=1e-10)
    torch.testing.assert_close(_filter_conv(maps), dense, rtol=0, atol=1e-10)


@pytest.mark.parametrize("size", [(11, 11), (42, 43), (75, 33)])
def test_ssim_matches_the_five_moment_formula(size: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(1, 1, *size, generator=gen, dtype=torch.float64) * 255
    y = (x + torch.randn(x.shape, generator=gen, dtype=torch.float64) * 9).clamp(0, 255)
    torch.testing.assert_close(ssim(x, y)[0], _reference_ssim(x, y), rtol=0, atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_ssim_matches_cpu() -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 70, 90, generator=gen, dtype=torch.float64) * 255
    y = x.flip(-1)
    torch.testing.assert_close(ssim(x.cuda(), y.cuda()).cpu(), ssim(x, y), rtol=0, atol=1e-12)
