"""PSNR per image on the protocol's prepared view (SPEC §1 step 7: peak 255, Y channel)."""

from __future__ import annotations

import torch
from torch import Tensor

from srbench.errors import ConfigError, ProtocolError
from srbench.registry import register_metric

__all__ = ["check_pair", "psnr"]


def check_pair(sr: Tensor, hr: Tensor, metric: str) -> None:
    """Refuse metric inputs that are not two (N, C, H, W) tensors of the same shape."""
    if sr.dim() != 4 or sr.shape != hr.shape:
        raise ProtocolError(
            f"{metric} needs SR and HR of the same (N, C, H, W) shape, "
            f"got {tuple(sr.shape)} and {tuple(hr.shape)}",
            hint="pass the tensors of Protocol.prepare(...).view(space), batched",
        )


@register_metric("psnr", higher_is_better=True, space="y255")
def psnr(sr: Tensor, hr: Tensor, *, peak: float = 255.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image, (N, C, H, W) -> (N,) float64; +inf if equal.

    Example:
        >>> hr = torch.zeros(1, 1, 2, 2)
        >>> round(psnr(hr + 1, hr).item(), 4)  # MSE 1: 20 log10(255)
        48.1308
    """
    check_pair(sr, hr, "psnr")
    if not peak > 0:
        raise ConfigError(f"psnr: peak must be positive, not {peak!r}")
    mse = (sr.double() - hr.double()).square().flatten(1).mean(1)
    return 10.0 * torch.log10(peak**2 / mse)
