"""Frozen, validated metadata records: what a model consumes and what a metric measures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]*")

Space = Literal["y255", "rgb01", "rgb_pm1"]

# Metrics taken by name from other libraries, e.g. `pyiqa:niqe` (see srbench.metrics.external).
EXTERNAL_PREFIXES = ("pyiqa", "piq")


def check_name(kind: str, name: str) -> str:
    """Return `name` if it is lower-case kebab-case, else raise ValueError naming the kind."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(
            f"{kind} name {name!r} must be lower-case kebab-case, e.g. 'edsr-baseline'"
        )
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelIO:
    """How a model wants its input: colour space, value range, pre-upsampled or not.

    The default is the simplest plugin contract: RGB float NCHW in [0, 1], LR size in,
    `scale` times the size out. Y-channel models get Cb/Cr from bicubic upscaling.

    A `native` model (image arithmetic such as bicubic) ignores the rest: it gets the LR
    exactly as the protocol made it (uint8, or float64 for float-LR protocols; 1 or 3
    channels, 0-255) and returns SR in the same dtype. A uint8 SR is final, as MATLAB's
    `imresize` of a uint8 image is: the model rounded it, so the protocol's rounding keeps it.
    """

    color: Literal["rgb", "y"] = "rgb"
    value_range: float = 1.0
    upsampled_input: bool = False
    native: bool = False

    def __post_init__(self) -> None:
        if self.color not in ("rgb", "y"):
            raise ValueError(f"ModelIO.color must be 'rgb' or 'y', not {self.color!r}")
        if not self.value_range > 0:
            raise ValueError(f"ModelIO.value_range must be positive, not {self.value_range!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec:
    """A metric's name, direction, the prepared view it reads, and its version."""

    name: str
    higher_is_better: bool = True
    space: Space = "y255"
    version: int = 1

    def __post_init__(self) -> None:
        prefix, _, rest = self.name.partition(":")
        check_name("metric", rest if prefix in EXTERNAL_PREFIXES and rest else self.name)
        if self.space not in ("y255", "rgb01", "rgb_pm1"):
            raise ValueError(f"metric {self.name!r}: space must be y255, rgb01 or rgb_pm1")
