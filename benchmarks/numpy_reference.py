"""Plain NumPy/SciPy reference of the paper protocol's bicubic row (SPEC §1), for comparison.

Written from MATLAB's published algorithms, independently of srbench's torch code (which
uses blocked banded matmuls and separable filtering): here each resize is a dense
(out x in) matrix built output by output, and SSIM uses the 2-D window directly.
`bicubic_scores(hr_u8, scale)` returns the (PSNR, SSIM) of one image.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import correlate2d


def cubic(x: np.ndarray) -> np.ndarray:
    """MATLAB imresize's bicubic kernel (a = -0.5)."""
    ax = np.abs(x)
    return (1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1) + (
        -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
    ) * ((ax > 1) & (ax <= 2))


def resize_matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """Dense (out_len, in_len) matrix of MATLAB imresize along one dimension."""
    if scale < 1:  # antialiasing: MATLAB's h = @(x) scale * cubic(scale * x), 4/scale wide
        kernel, kernel_width = (lambda d: scale * cubic(scale * d)), 4.0 / scale
    else:
        kernel, kernel_width = cubic, 4.0
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])  # symmetric border
    matrix = np.zeros((out_len, in_len))
    for x in range(1, out_len + 1):  # 1-based, as in MATLAB
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - kernel_width / 2)
        indices = left + np.arange(math.ceil(kernel_width) + 2)
        weights = kernel(u - indices)
        np.add.at(matrix[x - 1], mirror[(indices - 1) % (2 * in_len)], weights / weights.sum())
    return matrix


def matlab_imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB `imresize(img, scale, 'bicubic')` of a float (H, W[, C]) array, not rounded."""
    height, width = img.shape[:2]
    rows = resize_matrix(height, math.ceil(scale * height), scale)
    cols = resize_matrix(width, math.ceil(scale * width), scale)
    out = np.tensordot(rows, img, axes=(1, 0))  # height first, as MATLAB on equal scales
    return np.moveaxis(np.tensordot(cols, out, axes=(1, 1)), 0, 1)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """MATLAB's uint8(): clamp, then round half away from zero."""
    return np.floor(np.clip(img, 0, 255) + 0.5).astype(np.uint8)


def luma(img_u8: np.ndarray) -> np.ndarray:
    """MATLAB rgb2ycbcr Y on 0-255, not rounded; a gray image is its own luma."""
    img = img_u8.astype(np.float64)
    if img.ndim == 2:
        return img
    return 16 + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR with peak 255."""
    return float(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """MATLAB ssim_index: 11x11 Gaussian (sigma 1.5), K = (0.01, 0.03), L = 255, 'valid'."""
    r = np.arange(-5, 6)
    window = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    window /= window.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def filt(x: np.ndarray) -> np.ndarray:
        return correlate2d(x, window, mode="valid")

    mu_a, mu_b = filt(a), filt(b)
    var_a = filt(a * a) - mu_a**2
    var_b = filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(ssim_map.mean())


def bicubic_scores(hr_u8: np.ndarray, scale: int) -> tuple[float, float]:
    """(PSNR, SSIM) of MATLAB bicubic x`scale` on one uint8 (H, W) or (H, W, 3) HR image."""
    height, width = hr_u8.shape[:2]
    hr = hr_u8[: height - height % scale, : width - width % scale]
    lr = to_uint8(matlab_imresize(hr.astype(np.float64), 1 / scale))
    sr = to_uint8(matlab_imresize(lr.astype(np.float64), scale))
    crop = (slice(scale, -scale), slice(scale, -scale))
    sr_y, hr_y = luma(sr)[crop], luma(hr)[crop]
    return psnr(sr_y, hr_y), ssim(sr_y, hr_y)
