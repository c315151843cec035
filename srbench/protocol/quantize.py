"""Rounding to uint8 as MATLAB's `uint8()` does (SPEC §1 steps 3 and 4)."""

from __future__ import annotations

import torch
from torch import Tensor

from srbench.protocol import kernels

__all__ = ["quantize"]


def quantize(img: Tensor) -> Tensor:
    """Clamp to [0, 255] and round half away from zero to uint8, as MATLAB's uint8() does;
    a uint8 image is returned as it is."""
    if img.dtype == torch.uint8:
        return img
    if kernels.applies(img, torch.float64, torch.float32):
        src = img.detach().contiguous()
        out = torch.empty(src.shape, dtype=torch.uint8)
        kernels.quantize_u8(src.view(-1).numpy(), out.view(-1).numpy())
        return out
    # clamp copies; the cast truncates, which is floor for these non-negative values
    return img.double().clamp(0, 255).add_(0.5).to(torch.uint8)
