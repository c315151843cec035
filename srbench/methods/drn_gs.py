"""DRN-GS: dual reconstruction nets trained with the gradient-sensitive loss (SPEC §6.1).

Guo et al., "Dual Reconstruction Nets for Image Super-Resolution with Gradient Sensitive
Loss", arXiv:1809.07099. Only the abstract is public in readable form; what the abstract
gives is the *idea*: a primal LR→HR network, a dual HR→LR network closing the loop, and a
loss that weighs high- and low-frequency content by a gradient-magnitude mask.

Which parts are whose:

- Paper (abstract): primal + dual networks; the dual (HR→LR) reconstruction as an extra
  training signal; the gradient-sensitive loss (in `srbench.train.losses`, term `gs`).
- Same group's DRN code (guoyongcs/DRN, CVPR 2020), the best-documented design, which we
  follow layer by layer and with its module names: torch bicubic pre-upsampling of LR to HR
  size, DIV2K RGB mean shift on the 0-255 scale, head conv, K = log2(s) down blocks (conv3×3
  stride 2 → LeakyReLU(0.2) → conv3×3 doubling the channels, no bias), K up stages of B
  RCABs + ×2 pixel-shuffle upsampler + 1×1 conv concatenated with the matching down feature
  (U-Net skips), a 3×3 tail conv after the bottleneck and after every up stage (K+1 outputs
  from 1/s to 1 of the HR size, the last is SR), and one dual block per ×2 step.
  Presets: `s` is DRN-S (B = 30, F = 16; 4.8 M parameters at x4), `l` is DRN-L (B = 40,
  F = 20).
- srbench's choices (each an option): x3 uses one stage of factor 3 (a stride-3 down
  block, padding 0, and a ×3 pixel shuffle; DRN defines only powers of two); the dual block
  for that stage has stride 3 too; the `tiny` preset (B = 2, F = 8) for CPU training in
  minutes; channel attention keeps at least one channel when F·2^p < reduction.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srbench.registry import register_model
from srbench.specs import ModelIO
from srbench.weights import WeightsEnum

__all__ = ["DRNGS", "PRESETS", "DRNGSWeights", "DownBlock"]

# preset -> (RCABs per up stage B, base features F)
PRESETS = {"s": (30, 16), "l": (40, 20), "tiny": (2, 8)}
RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K mean, as in DRN/EDSR


class DRNGSWeights(WeightsEnum):
    """None released: DRN-GS never was, and DRN-S's primal `DRNS4x.pt` could not be obtained.

    So `srbench run` skips an untrained `drn-gs` instead of scoring random weights;
    checkpoints from `srbench train` are evaluated through `register_trained`.
    """


def stage_factors(scale: int) -> list[int]:
    """Per-stage factors: ×2 steps for powers of two, one ×3 stage for x3 (our choice)."""
    if scale == 3:
        return [3]
    steps = int(math.log2(scale))
    if scale < 2 or 2**steps != scale:
        raise ValueError(f"DRN-GS supports x2, x3 and powers of two, not x{scale}")
    return [2] * steps


def _conv(c_in: int, c_out: int, kernel: int = 3, *, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=bias)


class DownBlock(nn.Module):
    """DRN's DownBlock for one step: conv3×3 stride f → LeakyReLU → conv3×3, no biases.

    Used in the primal network's down path and, with 3 → F → 3 channels, as the dual
    (HR→LR) model of one step; the module names match DRN's dual checkpoints.
    """

    def __init__(self, c_in: int, c_mid: int, c_out: int, *, factor: int, negval: float) -> None:
        super().__init__()
        down = nn.Conv2d(c_in, c_mid, 3, stride=factor, padding=(4 - factor) // 2, bias=False)
        self.dual_module = nn.Sequential(
            nn.Sequential(down, nn.LeakyReLU(negval)), _conv(c_mid, c_out, bias=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        """Downscale `x` by the block's factor."""
        return self.dual_module(x)


class _CALayer(nn.Module):
    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.conv_du(x.mean(dim=(2, 3), keepdim=True))


class _RCAB(nn.Module):
    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels),
            nn.ReLU(inplace=True),
            _conv(channels, channels),
            _CALayer(channels, reduction),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _up_stage(channels: int, out: int, blocks: int, factor: int, reduction: int) -> nn.Sequential:
    """B RCABs, a ×factor pixel-shuffle upsampler and a 1×1 conv (DRN's up block)."""
    upsampler = nn.Sequential(_conv(channels, factor**2 * channels), nn.PixelShuffle(factor))
    rcabs = [_RCAB(channels, reduction) for _ in range(blocks)]
    return nn.Sequential(*rcabs, upsampler, _conv(channels, out, 1))


@register_model("drn-gs")
class DRNGS(nn.Module):
    """DRN-GS (Guo et al. 2018): DRN primal LR→HR U-Net + dual HR→LR nets; RGB 0-255.

    `preset` picks (B, F): "s" = DRN-S as published, "l" = DRN-L, "tiny" = CPU-sized;
    `n_blocks` / `n_feats` override it. `forward` returns the SR image only;
    `train_outputs` also returns every scale's output and the dual reconstructions.
    See the module docstring for which parts are the paper's and which are ours.
    """

    io = ModelIO(value_range=255.0)
    scales = (2, 3, 4)
    weights = DRNGSWeights

    def __init__(
        self,
        *,
        scale: int,
        preset: str = "s",
        n_blocks: int | None = None,
        n_feats: int | None = None,
        reduction: int = 16,
        negval: float = 0.2,
    ) -> None:
        super().__init__()
        if preset not in PRESETS:
            raise ValueError(f"unknown DRN-GS preset {preset!r}; choose from {sorted(PRESETS)}")
        blocks, feats = PRESETS[preset]
        blocks = blocks if n_blocks is None else n_blocks
        feats = feats if n_feats is None else n_feats
        self.scale = scale
        self.factors = stage_factors(scale)
        k = len(self.factors)
        self.register_buffer(
            "rgb_mean", 255.0 * torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False
        )
        self.head = _conv(3, feats)
        self.down = nn.ModuleList(
            DownBlock(feats * 2**p, feats * 2**p, feats * 2 ** (p + 1), factor=f, negval=negval)
            for p, f in enumerate(self.factors)
        )
        # up stage i works at level p = k - i; its input has F·2^(p) channels after the
        # bottleneck (i = 0) and F·2^(p+1) after a skip concatenation (i > 0), as in DRN.
        self.up_blocks = nn.ModuleList(
            _up_stage(
                feats * 2 ** (k - i + (i > 0)),
                feats * 2 ** (k - i - 1),
                blocks,
                self.factors[k - i - 1],
                reduction,
            )
            for i in range(k)
        )
        self.tail = nn.ModuleList(
            [_conv(feats * 2**k, 3)] + [_conv(feats * 2**p, 3) for p in range(k, 0, -1)]
        )
        self.dual = nn.ModuleList(
            DownBlock(3, feats, 3, factor=f, negval=negval) for f in reversed(self.factors)
        )

    def _pyramid(self, lr: Tensor) -> list[Tensor]:
        """Outputs at every level, coarse (LR size) to fine (SR), on the 0-255 scale."""
        x = F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False)
        x = self.head(x - self.rgb_mean)
        copies = []
        for block in self.down:
            copies.append(x)
            x = block(x)
        outputs = [self.tail[0](x) + self.rgb_mean]
        for i, stage in enumerate(self.up_blocks):
            x = torch.cat((stage(x), copies[len(copies) - i - 1]), dim=1)
            outputs.append(self.tail[i + 1](x) + self.rgb_mean)
        return outputs

    def forward(self, lr: Tensor) -> Tensor:
        """LR RGB (N, 3, h, w) on 0-255 → SR (N, 3, s·h, s·w) on 0-255."""
        return self._pyramid(lr)[-1]

    def train_outputs(self, lr: Tensor) -> dict[str, Tensor | list[Tensor]]:
        """Training view, [0, 1] in and out: `sr`, `pyramid` (every level, coarse to fine,
        last = sr) and `dual` (dual[i] = D_i(pyramid[i + 1]), the size of pyramid[i])."""
        pyramid = self._pyramid(lr * 255.0)
        dual = [d(p) / 255.0 for d, p in zip(self.dual, pyramid[1:], strict=True)]
        pyramid = [p / 255.0 for p in pyramid]
        return {"sr": pyramid[-1], "pyramid": pyramid, "dual": dual}
