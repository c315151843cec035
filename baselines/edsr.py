"""EDSR and EDSR-baseline (Lim et al., CVPRW 2017) with the official EDSR-PyTorch checkpoints.

Module names follow EDSR-PyTorch's `src/model/edsr.py` (`sub_mean`, `head.0`,
`body.N.body.{0,2}`, `body.<n_resblocks>`, `tail.0.*`, `tail.1`, `add_mean`), so the official
state dicts load unchanged. The mean-shift 1×1 convolutions are fixed constants, kept as
buffers: they are in the state dict but not in the parameter count.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from srbench import ModelIO, register_model
from srbench.weights import Published, Weights, WeightsEnum

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)
_HOST = "https://cv.snu.ac.kr/research/EDSR/models"
_ORIGIN = "sanghyun-son/EDSR-PyTorch release (download links in its README)"
_LICENSE = "MIT (EDSR-PyTorch)"
_LITERATURE = (
    "EDSR-baseline with the official weights, as measured in the literature (srbench SPEC §2)"
)
_TABLE3 = "Lim et al. 2017, EDSR (CVPRW), Table 3"
_SETS = ("Set5", "Set14", "B100", "Urban100")


def _published(source: str, cells: tuple[tuple[float, float], ...]) -> Published:
    values = {}
    for dataset, (psnr, ssim) in zip(_SETS, cells, strict=True):
        values[(dataset, "psnr")] = psnr
        values[(dataset, "ssim")] = ssim
    return Published(source=source, protocol="paper@1", values=values)


class EDSRBaselineWeights(WeightsEnum):
    """The official EDSR-baseline checkpoints (DIV2K); full SHA-256 from the Git LFS pointers."""

    DIV2K_X2 = Weights(
        tag="div2k",
        scale=2,
        urls=(f"{_HOST}/edsr_baseline_x2-1bc95232.pt",),
        sha256="1bc9523228fdc3b0a5ddb0d7062001e22b31bbb398ae09cfdefb97e8ee06e171",
        file_bytes=5_490_680,
        format="state_dict",
        num_params=1_369_859,
        origin=_ORIGIN,
        license=_LICENSE,
        published=_published(
            _LITERATURE, ((37.98, 0.9604), (33.57, 0.9174), (32.15, 0.8993), (31.98, 0.9271))
        ),
    )
    DIV2K_X3 = Weights(
        tag="div2k",
        scale=3,
        urls=(f"{_HOST}/edsr_baseline_x3-abf2a44e.pt",),
        sha256="abf2a44e7a137228efa42a4264a23e12603168d43ac7596b1adef40c649b9240",
        file_bytes=6_229_240,
        format="state_dict",
        num_params=1_554_499,
        origin=_ORIGIN,
        license=_LICENSE,
        published=_published(
            _LITERATURE, ((34.37, 0.9270), (30.28, 0.8414), (29.08, 0.8051), (28.15, 0.852))
        ),
    )
    DIV2K_X4 = Weights(
        tag="div2k",
        scale=4,
        urls=(f"{_HOST}/edsr_baseline_x4-6b446fab.pt",),
        sha256="6b446fab734f4de74448d2fd1f3f990f5bae726e49dc7eff2ae9cefe444a1723",
        file_bytes=6_081_831,
        format="state_dict",
        num_params=1_517_571,
        origin=_ORIGIN,
        license=_LICENSE,
        published=_published(
            _LITERATURE, ((32.09, 0.8936), (28.58, 0.7804), (27.56, 0.7354), (26.03, 0.7842))
        ),
    )


class EDSRWeights(WeightsEnum):
    """The official EDSR checkpoints (DIV2K); only the torch.hub SHA-256 prefix is known."""

    DIV2K_X2 = Weights(
        tag="div2k",
        scale=2,
        urls=(f"{_HOST}/edsr_x2-0edfb8a3.pt",),
        sha256="0edfb8a3",
        format="state_dict",
        num_params=40_729_603,
        origin=_ORIGIN,
        license=_LICENSE,
        published=_published(
            _TABLE3, ((38.11, 0.9601), (33.92, 0.9195), (32.32, 0.9013), (32.93, 0.9351))
        ),
    )
    DIV2K_X3 = Weights(
        tag="div2k",
        scale=3,
        urls=(f"{_HOST}/edsr_x3-ea3ef2c6.pt",),
        sha256="ea3ef2c6",
        format="state_dict",
        num_params=43_680_003,
        origin=_ORIGIN,
        license=_LICENSE,
        published=_published(
            _TABLE3, ((34.65, 0.9282), (30.52, 0.8462), (29.25, 0.8093), (28.80, 0.8653))
        ),
    )
    DIV2K_X4 = Weights(
        tag="div2k",
        scale=4,
        urls=(f"{_HOST}/edsr_x4-4f62e9ef.pt",),
        sha256="4f62e9ef",
        format="state_dict",
        num_params=43_089_923,
        origin=_ORIGIN,
        license=_LICENSE,
        published=_published(
            _TABLE3, ((32.46, 0.8968), (28.80, 0.7876), (27.71, 0.7420), (26.64, 0.8033))
        ),
    )


class MeanShift(nn.Module):
    """Adds `sign` × the DIV2K RGB mean (0-255 scale) as a fixed 1×1 convolution."""

    def __init__(self, sign: int, rgb_range: float = 255.0) -> None:
        super().__init__()
        self.register_buffer("weight", torch.eye(3).view(3, 3, 1, 1))
        self.register_buffer("bias", sign * rgb_range * torch.tensor(DIV2K_RGB_MEAN))

    def forward(self, x: Tensor) -> Tensor:
        """x + sign × mean, as the official 1×1 convolution computes it."""
        return nn.functional.conv2d(x, self.weight, self.bias)


class ResBlock(nn.Module):
    """conv 3×3 → ReLU → conv 3×3, scaled by `res_scale` and added to the input (no BN)."""

    def __init__(self, channels: int, res_scale: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.res_scale = res_scale

    def forward(self, x: Tensor) -> Tensor:
        """x + res_scale · body(x)."""
        return x + self.body(x) * self.res_scale


class Upsampler(nn.Sequential):
    """Sub-pixel upsampling: (conv 3×3 → ×4 channels, pixel-shuffle 2) per ×2, or one ×3."""

    def __init__(self, scale: int, channels: int) -> None:
        if scale == 3:
            steps = [(3, channels * 9)]
        elif scale > 0 and scale & (scale - 1) == 0:
            steps = [(2, channels * 4)] * int(math.log2(scale))
        else:
            raise ValueError(f"EDSR upsamples by 2^n or 3, not {scale}")
        layers: list[nn.Module] = []
        for factor, out in steps:
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.PixelShuffle(factor)]
        super().__init__(*layers)


class _EDSR(nn.Module):
    """EDSR: mean shift, head conv, residual blocks + body conv with a long skip, upsampler."""

    io = ModelIO(color="rgb", value_range=255.0)
    scales = (2, 3, 4)

    def __init__(self, *, scale: int, n_resblocks: int, n_feats: int, res_scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.sub_mean = MeanShift(-1)
        self.head = nn.Sequential(nn.Conv2d(3, n_feats, 3, padding=1))
        self.body = nn.Sequential(
            *(ResBlock(n_feats, res_scale) for _ in range(n_resblocks)),
            nn.Conv2d(n_feats, n_feats, 3, padding=1),
        )
        self.tail = nn.Sequential(Upsampler(scale, n_feats), nn.Conv2d(n_feats, 3, 3, padding=1))
        self.add_mean = MeanShift(+1)

    def forward(self, x: Tensor) -> Tensor:
        """RGB (N, 3, h, w) on 0-255 to RGB (N, 3, h·s, w·s) on 0-255."""
        x = self.head(self.sub_mean(x))
        return self.add_mean(self.tail(self.body(x) + x))


@register_model("edsr-baseline")
class EDSRBaseline(_EDSR):
    """EDSR-baseline (Lim et al. 2017): 16 residual blocks × 64 channels, res_scale 1."""

    weights = EDSRBaselineWeights

    def __init__(self, *, scale: int) -> None:
        super().__init__(scale=scale, n_resblocks=16, n_feats=64, res_scale=1.0)


@register_model("edsr")
class EDSR(_EDSR):
    """EDSR (Lim et al. 2017): 32 residual blocks × 256 channels, res_scale 0.1."""

    weights = EDSRWeights

    def __init__(self, *, scale: int) -> None:
        super().__init__(scale=scale, n_resblocks=32, n_feats=256, res_scale=0.1)
