"""Named, versioned evaluation protocols (SPEC §1) composed from the small step functions.

`paper@1` is the default: modcrop, MATLAB bicubic LR rounded to uint8, SR clamped and
rounded to uint8, MATLAB Y (gray images on raw intensity), shave = scale. The other profiles
reproduce the evaluation scripts that published checkpoints were scored with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from srbench.errors import ConfigError, ProtocolError
from srbench.protocol.color import luma_channel
from srbench.protocol.crop import modcrop, shave
from srbench.protocol.imresize import imresize as matlab_imresize
from srbench.protocol.quantize import quantize
from srbench.specs import Space

__all__ = [
    "PAPER",
    "SRCNN_MATLAB",
    "VDSR_PYTORCH",
    "Prepared",
    "Protocol",
    "get_protocol",
    "modcrop",
    "quantize",
]


@dataclass(frozen=True)
class Prepared:
    """SR and HR after the protocol's quantisation and cropping; the only input metrics get."""

    sr: Tensor
    hr: Tensor
    border: int
    _views: dict[str, tuple[Tensor, Tensor]] = field(default_factory=dict, repr=False)

    def view(self, space: Space) -> tuple[Tensor, Tensor]:
        """(sr, hr) in a metric's space: 'y255' luma, 'rgb01' or 'rgb_pm1' RGB; shaved."""
        if space not in self._views:
            self._views[space] = (self._convert(self.sr, space), self._convert(self.hr, space))
        return self._views[space]

    def _convert(self, img: Tensor, space: Space) -> Tensor:
        if space == "y255":
            out = luma_channel(img)
        else:
            rgb = img.double() / 255.0
            if rgb.shape[-3] == 1:
                rgb = rgb.expand(*rgb.shape[:-3], 3, *rgb.shape[-2:])
            out = rgb if space == "rgb01" else rgb * 2.0 - 1.0
        return shave(out, self.border)


@dataclass(frozen=True, slots=True, kw_only=True)
class Protocol:
    """How LR images are made and how SR output is scored; recorded with every result.

    `y_first` converts HR to MATLAB Y before anything else ("round": uint8 like MATLAB's
    `rgb2ycbcr` of a uint8 image, "float": unrounded), so LR, SR and scoring are 1-channel.
    """

    name: str
    version: int
    description: str
    round_lr: bool = True
    round_sr: bool = True
    shave: Literal["scale"] | int = "scale"
    y_first: Literal["round", "float"] | None = None

    @property
    def key(self) -> str:
        """`name@version`, the form stored with results and shown in table footnotes."""
        return f"{self.name}@{self.version}"

    def border(self, scale: int) -> int:
        """Pixels shaved from every side at `scale`."""
        return scale if self.shave == "scale" else int(self.shave)

    def working_hr(self, hr: Tensor) -> Tensor:
        """HR as the protocol works on it: as read, or its MATLAB Y when `y_first` is set."""
        if self.y_first is None:
            return hr
        y = luma_channel(hr)
        return quantize(y) if self.y_first == "round" else y

    def crop_hr(self, hr: Tensor, scale: int) -> Tensor:
        """Steps 1-2: `working_hr`, cropped bottom/right to a multiple of `scale` (refuses
        images too small)."""
        cropped = modcrop(self.working_hr(hr), scale)
        border = self.border(scale)
        if min(cropped.shape[-2:]) <= 2 * border:
            raise ProtocolError(
                f"image of {hr.shape[-2]}x{hr.shape[-1]} px is too small for scale {scale}",
                hint=f"images must be larger than {2 * border} px on each side after modcrop",
            )
        return cropped

    def make_lr(self, hr: Tensor, scale: int) -> Tensor:
        """Step 3: MATLAB imresize(HR, 1/s, 'bicubic'); uint8 when `round_lr`, else float64."""
        src = hr if hr.dtype == torch.uint8 else hr.double()
        return matlab_imresize(src, 1.0 / scale, quantized=self.round_lr)

    def prepare(self, sr: Tensor, hr: Tensor, scale: int) -> Prepared:
        """Steps 4-6: quantise SR (or clamp it), then hand both to the metrics' views."""
        if sr.shape != hr.shape:
            raise ProtocolError(
                f"SR shape {tuple(sr.shape)} differs from HR shape {tuple(hr.shape)}",
                hint="the model must return exactly `scale` times the LR size",
            )
        sr = quantize(sr) if self.round_sr else sr.double().clamp(0, 255)
        return Prepared(sr=sr, hr=hr, border=self.border(scale))


PAPER = Protocol(
    name="paper",
    version=1,
    description="SRCNN/VDSR/EDSR tables: MATLAB bicubic LR and SR as uint8, MATLAB Y, shave=s",
)
# SRCNN_v1 demo_SR.m (the SRCNN release's test script).
SRCNN_MATLAB = Protocol(
    name="srcnn-matlab",
    version=1,
    description="SRCNN_v1 demo_SR.m: uint8 MATLAB Y first, LR not rounded, SR as uint8, shave=s",
    y_first="round",
    round_lr=False,
)
# twtygqyy/pytorch-vdsr eval.py on its generate_test_mat.m data (per-scale modcrop).
VDSR_PYTORCH = Protocol(
    name="vdsr-pytorch",
    version=1,
    description="pytorch-vdsr eval.py: unrounded MATLAB Y, LR not rounded, SR clipped not "
    "rounded, shave=s",
    y_first="float",
    round_lr=False,
    round_sr=False,
)


def get_protocol(key: str) -> Protocol:
    """Look up a protocol by `name` or `name@version` in the protocol registry."""
    from srbench.registry import protocols

    name, _, version = key.partition("@")
    proto: Protocol = protocols.get(name)
    if version and version != str(proto.version):
        raise ConfigError(
            f"protocol {name!r} is at version {proto.version}, not {version}",
            hint=f"use --protocol {proto.key}",
        )
    return proto
