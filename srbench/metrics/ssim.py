"""SSIM per image as MATLAB `ssim_index` (Wang et al. 2004 reference code), SPEC §1 step 7.

11×11 Gaussian window σ = 1.5 (normalised), K1 = 0.01, K2 = 0.03, L = data_range,
'valid' filtering, no downsampling (unlike MATLAB's later `ssim.m` and piq's default),
mean of the SSIM map; a multi-channel image scores the mean of its per-channel SSIMs.
Computed in float64: sigma = E[x²] - mu² cancels in float32 on 0-255 data (float32 was
within 1e-6 on Set5/Set14, but float64 is the reference and costs little here).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from srbench.errors import ConfigError, ProtocolError
from srbench.metrics.psnr import check_pair
from srbench.registry import register_metric

__all__ = ["K1", "K2", "WINDOW", "WINDOW_SIGMA", "WINDOW_SIZE", "ssim"]

# The SSIM window: MATLAB fspecial('gaussian', 11, 1.5), the outer product of WINDOW.
WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
K1 = 0.01
K2 = 0.03


def _gaussian(size: int, sigma: float) -> tuple[float, ...]:
    taps = [math.exp(-((k - size // 2) ** 2) / (2 * sigma**2)) for k in range(size)]
    return tuple(t / sum(taps) for t in taps)


WINDOW = _gaussian(WINDOW_SIZE, WINDOW_SIGMA)  # normalised 1-D taps


def _filter_valid(maps: Tensor) -> Tensor:
    """MATLAB `filter2(window, maps, 'valid')` on the last two dims, one 1-D pass per axis.

    In-place shifted adds: on 2 CPU cores in float64 (80 ms for a 1024×768 image) this is
    6x faster than a separable conv2d and 25x faster than the 11×11 conv2d.
    """
    out_h = maps.shape[-2] - WINDOW_SIZE + 1
    out_w = maps.shape[-1] - WINDOW_SIZE + 1
    rows = maps[..., :out_h, :] * WINDOW[0]
    for k in range(1, WINDOW_SIZE):
        rows.add_(maps[..., k : k + out_h, :], alpha=WINDOW[k])
    out = rows[..., :out_w] * WINDOW[0]
    for k in range(1, WINDOW_SIZE):
        out.add_(rows[..., k : k + out_w], alpha=WINDOW[k])
    return out


@register_metric("ssim", higher_is_better=True, space="y255")
def ssim(sr: Tensor, hr: Tensor, *, data_range: float = 255.0) -> Tensor:
    """Structural similarity per image, MATLAB `ssim_index`: (N, C, H, W) -> (N,) float64.

    Example:
        >>> img = torch.arange(256.0).view(1, 1, 16, 16)
        >>> ssim(img, img).item()
        1.0
    """
    check_pair(sr, hr, "ssim")
    if min(sr.shape[-2:]) < WINDOW_SIZE:
        raise ProtocolError(
            f"ssim needs images of at least {WINDOW_SIZE}x{WINDOW_SIZE} px, got "
            f"{sr.shape[-2]}x{sr.shape[-1]}",
            hint="the 11x11 window must fit inside the shaved image",
        )
    if not data_range > 0:
        raise ConfigError(f"ssim: data_range must be positive, not {data_range!r}")
    x, y = sr.double(), hr.double()
    moments = torch.stack([x, y, x * x, y * y, x * y], dim=2)  # one filtering pass for all five
    mu_x, mu_y, e_xx, e_yy, e_xy = _filter_valid(moments).unbind(2)
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    numerator = (2 * mu_xy + c1) * (2 * (e_xy - mu_xy) + c2)
    denominator = (mu_xx + mu_yy + c1) * ((e_xx - mu_xx) + (e_yy - mu_yy) + c2)
    return (numerator / denominator).mean(dim=(-2, -1)).mean(dim=1)
