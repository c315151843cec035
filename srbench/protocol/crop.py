"""modcrop and shave: the two cropping steps of the paper protocol (SPEC §1 steps 2 and 6)."""

from __future__ import annotations

import operator

from torch import Tensor

from srbench.errors import ConfigError, ProtocolError

__all__ = ["modcrop", "shave"]


def _int_at_least(value: int, name: str, minimum: int) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or number < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return number


def modcrop(img: Tensor, scale: int) -> Tensor:
    """Crop (..., H, W) at the bottom and right to multiples of `scale` (paper step 2).

    Raises:
        ProtocolError: if H or W is smaller than `scale`.

    Example:
        >>> import torch
        >>> modcrop(torch.zeros(3, 10, 13), 4).shape
        torch.Size([3, 8, 12])
    """
    scale = _int_at_least(scale, "modcrop: scale", 1)
    height, width = img.shape[-2:]
    if height < scale or width < scale:
        raise ProtocolError(
            f"image of {height}x{width} px is too small for scale {scale}",
            hint=f"modcrop needs at least {scale} px on each side",
        )
    return img[..., : height - height % scale, : width - width % scale]


def shave(img: Tensor, border: int) -> Tensor:
    """Drop `border` pixels on every side of (..., H, W) (paper step 6: border = scale).

    Raises:
        ProtocolError: if 2 * border is not smaller than both H and W.

    Example:
        >>> import torch
        >>> shave(torch.zeros(1, 8, 9), 2).shape
        torch.Size([1, 4, 5])
    """
    border = _int_at_least(border, "shave: border", 0)
    height, width = img.shape[-2:]
    if 2 * border >= min(height, width):
        raise ProtocolError(
            f"cannot shave {border} px from each side of a {height}x{width} image",
            hint=f"images must be larger than {2 * border} px on each side",
        )
    return img[..., border : height - border, border : width - border]
