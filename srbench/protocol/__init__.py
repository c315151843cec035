"""Named, versioned evaluation protocols (SPEC §1) composed from the small step functions.

`paper@1` is the default: modcrop, MATLAB bicubic LR rounded to uint8, SR clamped and
rounded to uint8, MATLAB Y (gray images on raw intensity), shave = scale. The other profiles
reproduce the evaluation scripts that published checkpoints were scored with.
"""

from __future__ import annotations

import threading
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
    "WorkingHr",
    "get_protocol",
    "modcrop",
    "quantize",
]


def _convert(img: Tensor, space: Space) -> Tensor:
    """`img` (0-255) in a metric's space, not shaved: 'y255' luma, 'rgb01' or 'rgb_pm1' RGB."""
    if space == "y255":
        return luma_channel(img)
    rgb = img.double() / 255.0
    if rgb.shape[-3] == 1:
        rgb = rgb.expand(*rgb.shape[:-3], 3, *rgb.shape[-2:])
    return rgb if space == "rgb01" else rgb * 2.0 - 1.0


class WorkingHr:
    """One image's working HR (`Protocol.working_hr`), cropped for each scale, and converted
    to each metric space once for all of its scales and models.

    modcrop keeps the top-left corner and every conversion works pixel by pixel, so the
    top-left crop of the converted image equals the conversion of the crop, bit for bit.
    Safe to share between threads.
    """

    def __init__(self, protocol: Protocol, hr: Tensor) -> None:
        self.protocol = protocol
        self.hr = protocol.working_hr(hr)
        self._spaces: dict[Space, Tensor] = {}
        self._lock = threading.Lock()

    def crop(self, scale: int) -> Tensor:
        """Steps 1-2: the working HR cropped bottom/right to a multiple of `scale` (refuses
        images too small)."""
        cropped = modcrop(self.hr, scale)
        border = self.protocol.border(scale)
        if min(cropped.shape[-2:]) <= 2 * border:
            raise ProtocolError(
                f"image of {self.hr.shape[-2]}x{self.hr.shape[-1]} px is too small for scale "
                f"{scale}",
                hint=f"images must be larger than {2 * border} px on each side after modcrop",
            )
        return cropped

    def converted(self, space: Space, crop: Tensor) -> Tensor:
        """`crop` (a `crop(scale)` of this image) in `space`, not shaved."""
        if crop.data_ptr() != self.hr.data_ptr() or crop.shape[:-2] != self.hr.shape[:-2]:
            raise ProtocolError(
                "the HR given to prepare() is not a crop of its WorkingHr",
                hint="pass the tensor that WorkingHr.crop(scale) returned",
            )
        with self._lock:
            if space not in self._spaces:
                self._spaces[space] = _convert(self.hr, space)
            return self._spaces[space][..., : crop.shape[-2], : crop.shape[-1]]


@dataclass(frozen=True)
class Prepared:
    """SR and HR after the protocol's quantisation and cropping; the only input metrics get.

    With `source`, HR views are cut from the image's conversions shared across scales.
    """

    sr: Tensor
    hr: Tensor
    border: int
    source: WorkingHr | None = None
    _views: dict[str, tuple[Tensor, Tensor]] = field(default_factory=dict, repr=False)

    def view(self, space: Space) -> tuple[Tensor, Tensor]:
        """(sr, hr) in a metric's space: 'y255' luma, 'rgb01' or 'rgb_pm1' RGB; shaved."""
        if space not in self._views:
            if self.source is None:
                hr = _convert(self.hr, space)
            else:
                hr = self.source.converted(space, self.hr)
            sr = _convert(self.sr, space)
            self._views[space] = (shave(sr, self.border), shave(hr, self.border))
        return self._views[space]


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
        images too small). For several scales of one image, use `working(hr).crop`."""
        return self.working(hr).crop(scale)

    def working(self, hr: Tensor) -> WorkingHr:
        """`hr` as the protocol works on it, to crop per scale and convert once per space."""
        return WorkingHr(self, hr)

    def make_lr(self, hr: Tensor, scale: int) -> Tensor:
        """Step 3: MATLAB imresize(HR, 1/s, 'bicubic'); uint8 when `round_lr`, else float64."""
        src = hr if hr.dtype == torch.uint8 else hr.double()
        return matlab_imresize(src, 1.0 / scale, quantized=self.round_lr)

    def prepare(
        self, sr: Tensor, hr: Tensor, scale: int, *, source: WorkingHr | None = None
    ) -> Prepared:
        """Steps 4-6: quantise SR (or clamp it), then hand both to the metrics' views.

        `source` is the `WorkingHr` that `hr` was cropped from: its conversions are shared.
        """
        if sr.shape != hr.shape:
            raise ProtocolError(
                f"SR shape {tuple(sr.shape)} differs from HR shape {tuple(hr.shape)}",
                hint="the model must return exactly `scale` times the LR size",
            )
        sr = quantize(sr) if self.round_sr else sr.double().clamp(0, 255)
        return Prepared(sr=sr, hr=hr, border=self.border(scale), source=source)


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
