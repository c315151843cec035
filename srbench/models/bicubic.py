"""The built-in bicubic baseline: MATLAB `imresize(LR, s, 'bicubic')`, no parameters.

Like MATLAB, it returns a uint8 image for a uint8 LR (rounded as the paper protocol rounds
SR) and an unrounded float64 one for a float LR.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from srbench.protocol.imresize import imresize
from srbench.registry import register_model
from srbench.specs import ModelIO


@register_model("bicubic")
class Bicubic(nn.Module):
    """MATLAB bicubic upscaling (a = -0.5, symmetric borders); the classic baseline row."""

    io = ModelIO(value_range=255.0, native=True)

    def __init__(self, *, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, lr: Tensor) -> Tensor:
        """Upscale by `scale` with the same kernel the protocol uses to make LR."""
        return imresize(lr, float(self.scale), quantized=lr.dtype == torch.uint8)
