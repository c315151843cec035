"""The built-in bicubic baseline: MATLAB `imresize(LR, s, 'bicubic')`, no parameters."""

from __future__ import annotations

from torch import Tensor, nn

from srbench.protocol.imresize import imresize
from srbench.registry import register_model
from srbench.specs import ModelIO


@register_model("bicubic")
class Bicubic(nn.Module):
    """MATLAB bicubic upscaling (a = -0.5, symmetric borders); the classic baseline row."""

    io = ModelIO(value_range=255.0)

    def __init__(self, *, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, lr: Tensor) -> Tensor:
        """Upscale by `scale` with the same kernel the protocol uses to make LR."""
        return imresize(lr, float(self.scale))
