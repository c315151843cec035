"""VDSR (Kim et al., CVPR 2016) and the public PyTorch checkpoint of twtygqyy/pytorch-vdsr.

Module names follow that re-implementation (`input`, `residual_layer.N.conv`, `output`), so
its converted state dict loads unchanged. One checkpoint serves x2, x3 and x4.
"""

from __future__ import annotations

from torch import Tensor, nn

from srbench import ModelIO, register_model
from srbench.weights import Published, Weights, WeightsEnum

_URL = (
    "https://raw.githubusercontent.com/twtygqyy/pytorch-vdsr/"
    "514b021044018baf909e79f48392783daa592888/model/model_epoch_50.pth"
)
_SHA256 = "eab4d79ae5a6e5acef4c55e46015aed225ade207679bcb6695b07af8fb18e876"
_README = "twtygqyy/pytorch-vdsr README, 'VDSR PyTorch' column (Set5)"
_NOTES = (
    "A whole pickled vdsr.Net (legacy torch format, Python 2.7); srbench converts it with its "
    "restricted unpickler. Trained for 50 epochs on the 291-image set by the repository author."
)


def _entry(scale: int, set5_psnr: float) -> Weights:
    return Weights(
        tag="twtygqyy",
        scale=scale,
        urls=(_URL,),
        sha256=_SHA256,
        file_bytes=2_680_962,
        format="torch_pickle",
        num_params=664_704,
        origin="twtygqyy/pytorch-vdsr @ 514b021 : model/model_epoch_50.pth (last changed 5ea721f)",
        license="no licence file in the repository",
        published=Published(
            source=_README, protocol="vdsr-pytorch@1", values={("Set5", "psnr"): set5_psnr}
        ),
        notes=_NOTES,
    )


class VDSRWeights(WeightsEnum):
    """twtygqyy/pytorch-vdsr `model_epoch_50.pth`: one model for x2, x3 and x4."""

    TWTYGQYY_X2 = _entry(2, 37.65)
    TWTYGQYY_X3 = _entry(3, 33.77)
    TWTYGQYY_X4 = _entry(4, 31.45)


class _ConvReLU(nn.Module):
    """conv 3×3 64→64 without bias, then ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """ReLU(conv(x))."""
        return self.relu(self.conv(x))


@register_model("vdsr")
class VDSR(nn.Module):
    """VDSR (Kim et al. 2016): 20 conv 3×3 layers × 64, no bias, residual to the bicubic Y.

    conv 1→64 + ReLU, 18 × (conv 64→64 + ReLU), conv 64→1, plus the input (global residual).
    The input is the bicubic-upscaled Y in [0, 1]; Cb/Cr come from bicubic upscaling.
    """

    io = ModelIO(color="y", value_range=1.0, upsampled_input=True)
    scales = (2, 3, 4)
    weights = VDSRWeights

    def __init__(self, *, scale: int, depth: int = 20, channels: int = 64) -> None:
        super().__init__()
        self.scale = scale
        self.input = nn.Conv2d(1, channels, 3, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.residual_layer = nn.Sequential(*(_ConvReLU(channels) for _ in range(depth - 2)))
        self.output = nn.Conv2d(channels, 1, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Predict the residual of the bicubic-upscaled Y (N, 1, H, W) and add it back."""
        return self.output(self.residual_layer(self.relu(self.input(x)))) + x
