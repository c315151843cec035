"""MATLAB `rgb2ycbcr`/`ycbcr2rgb` on the 0-255 scale, and the scoring-channel rule (SPEC §1.5).

The Y coefficients are ITU-R BT.601 studio range: 219/255 times the full-range luma
0.299/0.587/0.114, plus 16. Scoring on full-range luma instead is exactly
20·log10(255/219) = 1.32 dB lower. The same Y is often written
16 + (65.738 R + 129.057 G + 25.064 B) / 256, and copied with the typo 64.738.
"""

from __future__ import annotations

import torch
from torch import Tensor

from srbench.errors import ProtocolError
from srbench.protocol import kernels

__all__ = [
    "YCBCR_MATRIX",
    "YCBCR_OFFSET",
    "luma_channel",
    "rgb_to_y",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
]

# MATLAB rgb2ycbcr: ycbcr = YCBCR_OFFSET + YCBCR_MATRIX @ rgb with rgb in [0, 1], on 0-255.
YCBCR_MATRIX = (
    (65.481, 128.553, 24.966),
    (-37.797, -74.203, 112.0),
    (112.0, -93.786, -18.214),
)
YCBCR_OFFSET = (16.0, 128.0, 128.0)
_YCBCR_FROM_RGB = torch.tensor(YCBCR_MATRIX, dtype=torch.float64)
_RGB_FROM_YCBCR = 255.0 * torch.linalg.inv(_YCBCR_FROM_RGB)  # as ycbcr2rgb computes it


def _check_rgb(img: Tensor, what: str) -> None:
    if img.dim() < 3 or img.shape[-3] != 3:
        raise ProtocolError(
            f"{what} needs a (..., 3, H, W) image, got shape {tuple(img.shape)}",
            hint="channels come before height and width (NCHW / CHW)",
        )


def _affine(matrix: Tensor, img: Tensor) -> Tensor:
    """`matrix @ channels` of (..., K, H, W) in float64 on the image's device."""
    return torch.einsum("ck,...khw->...chw", matrix.to(img.device), img.double())


def _column(values: tuple[float, ...], like: Tensor) -> Tensor:
    return torch.tensor(values, dtype=torch.float64, device=like.device)[:, None, None]


def rgb_to_ycbcr(rgb255: Tensor) -> Tensor:
    """MATLAB `rgb2ycbcr` of a double image, on the 0-255 scale: (..., 3, H, W) -> float64."""
    _check_rgb(rgb255, "rgb_to_ycbcr")
    return _column(YCBCR_OFFSET, rgb255) + _affine(_YCBCR_FROM_RGB, rgb255) / 255.0


def ycbcr_to_rgb(ycbcr255: Tensor) -> Tensor:
    """MATLAB `ycbcr2rgb` of a double image, on the 0-255 scale: the inverse of `rgb_to_ycbcr`."""
    _check_rgb(ycbcr255, "ycbcr_to_rgb")
    return _affine(_RGB_FROM_YCBCR, ycbcr255.double() - _column(YCBCR_OFFSET, ycbcr255))


def rgb_to_y(rgb: Tensor) -> Tensor:
    """MATLAB Y of RGB in [0, 255] (uint8 or float): (..., 3, H, W) -> float64 (..., 1, H, W).

    `Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`, not rounded.

    Example:
        >>> rgb_to_y(torch.tensor([255, 255, 255]).view(3, 1, 1)).item()
        235.0
    """
    _check_rgb(rgb, "rgb_to_y")
    (kr, kg, kb) = YCBCR_MATRIX[0]
    if kernels.applies(rgb, torch.uint8, torch.float32, torch.float64):
        *lead, _, height, width = rgb.shape
        src = rgb.detach().reshape(-1, 3, height * width).contiguous()
        y = torch.empty(*lead, 1, height, width, dtype=torch.float64)
        kernels.y_of_rgb(
            src.numpy(), (kr, kg, kb), YCBCR_OFFSET[0], y.view(-1, height * width).numpy()
        )
        return y
    red, green, blue = rgb.unbind(-3)  # per channel: converting once each is 2x faster
    y = (
        red.to(torch.float64, copy=True)
        .mul_(kr)
        .add_(green.double(), alpha=kg)
        .add_(blue.double(), alpha=kb)
    )
    return y.div_(255.0).add_(YCBCR_OFFSET[0]).unsqueeze(-3)


def luma_channel(img: Tensor) -> Tensor:
    """The channel PSNR/SSIM are scored on: raw intensity of 1-channel, MATLAB Y of RGB.

    A gray image is never replicated to RGB first (that would score 16 + 219/255 * I).

    Example:
        >>> luma_channel(torch.full((1, 1, 2, 2), 7, dtype=torch.uint8)).flatten().tolist()
        [7.0, 7.0, 7.0, 7.0]
    """
    channels = img.shape[-3] if img.dim() >= 3 else None
    if channels == 1:
        return img.double()
    if channels == 3:
        return rgb_to_y(img)
    raise ProtocolError(
        f"cannot score an image with shape {tuple(img.shape)}: need 1 (gray) or 3 (RGB) channels",
        hint="drop alpha or convert the image to RGB or gray when decoding",
    )
