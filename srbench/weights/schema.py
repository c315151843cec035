"""Checkpoint metadata as data: `Weights`, `Published`, and the `WeightsEnum` a model declares.

A model class lists its known checkpoints as `weights = MyWeights`, an Enum whose members are
`Weights` records named `<TAG>_X<scale>`; the first member declared for a scale is its
default (timm's priority-ordered tags, one file per scale as SR releases come).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from srbench.errors import ConfigError, UnknownNameError, unknown_name
from srbench.specs import check_name

__all__ = [
    "FORMATS",
    "Format",
    "Published",
    "Weights",
    "WeightsEnum",
    "unknown_weights",
    "weights_enum",
]

# state_dict: a {name: tensor} file torch.load(weights_only=True) reads as it is.
# torch_pickle: a whole pickled model object; converted by the restricted unpickler.
# srcnn_mat: the MATLAB .mat files of the SRCNN release; converted with scipy.
Format = Literal["state_dict", "torch_pickle", "srcnn_mat"]
FORMATS: tuple[str, ...] = ("state_dict", "torch_pickle", "srcnn_mat")

SHA256_RE = re.compile(r"[0-9a-f]{64}")
# Where only the torch.hub file-name suffix is known (8 hex digits of the SHA-256).
SHA256_PREFIX_RE = re.compile(r"[0-9a-f]{8}")
MEMBER_RE = re.compile(r"[A-Z0-9]+(?:_[A-Z0-9]+)*_X[0-9]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """Numbers a checkpoint's source reports, the protocol they were measured with, and where.

    `values` maps (dataset, metric) to the value at the checkpoint's scale.
    """

    source: str
    protocol: str
    values: Mapping[tuple[str, str], float] = field(hash=False)

    def __post_init__(self) -> None:
        if not self.source:
            raise ValueError("Published.source must say where the numbers come from")
        name, _, version = self.protocol.partition("@")
        if not name or not version.isdigit():
            raise ValueError(f"Published.protocol must be 'name@version', not {self.protocol!r}")
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Weights:
    """One checkpoint file: where it comes from, how to check and read it, what it should score.

    `options` are keyword arguments for the model's constructor that this checkpoint needs
    (e.g. SRCNN's replicate padding); `num_params` is the parameter count of that model.
    """

    tag: str
    scale: int
    urls: tuple[str, ...]
    sha256: str
    format: Format
    num_params: int
    origin: str
    license: str
    file_bytes: int | None = None
    published: Published | None = None
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    notes: str = ""

    def __post_init__(self) -> None:
        check_name("weights tag", self.tag)
        if self.scale < 2:
            raise ValueError(f"weights {self.tag!r}: scale must be >= 2, not {self.scale}")
        if not self.urls:
            raise ValueError(f"weights {self.tag!r} x{self.scale}: give at least one URL")
        if not (SHA256_RE.fullmatch(self.sha256) or SHA256_PREFIX_RE.fullmatch(self.sha256)):
            raise ValueError(
                f"weights {self.tag!r} x{self.scale}: sha256 must be 64 lower-case hex digits "
                f"(or the 8-digit torch.hub prefix where that is all that is known), "
                f"not {self.sha256!r}"
            )
        if self.format not in FORMATS:
            raise ValueError(f"weights {self.tag!r}: format must be one of {FORMATS}")
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    @property
    def filename(self) -> str:
        """The file's name as published: the last path segment of the first URL."""
        return unquote(PurePosixPath(urlparse(self.urls[0]).path).name)

    @property
    def sha256_is_prefix(self) -> bool:
        """True where only the torch.hub prefix of the digest is known (a weaker check)."""
        return len(self.sha256) < 64


class WeightsEnum(Enum):
    """Base of a model's checkpoint list; members are `Weights`, named `<TAG>_X<scale>`."""

    @property
    def meta(self) -> Weights:
        """The member's `Weights` record."""
        return self.value  # type: ignore[no-any-return]

    @classmethod
    def for_scale(cls, scale: int) -> list[WeightsEnum]:
        """Members for `scale`, in declaration order (the first is the default)."""
        return [m for m in cls if m.meta.scale == scale]

    @classmethod
    def default(cls, scale: int) -> WeightsEnum | None:
        """The default checkpoint for `scale`: the first declared, or None if there is none."""
        members = cls.for_scale(scale)
        return members[0] if members else None

    @classmethod
    def select(cls, model: str, scale: int, choice: str | None = None) -> WeightsEnum | None:
        """The member for `scale` named by `choice` (a tag or a member name), else the default.

        Raises:
            UnknownNameError: `choice` names no checkpoint of this model.
            ConfigError: the named checkpoint exists, but not for `scale`.
        """
        if choice is None:
            return cls.default(scale)
        matches = [m for m in cls if choice == m.meta.tag or choice.upper() == m.name]
        if not matches:
            raise unknown_weights(f"{model}.{choice}", {f"{model}.{m.meta.tag}" for m in cls})
        for member in matches:
            if member.meta.scale == scale:
                return member
        have = sorted(f"{model}.{m.meta.tag} x{m.meta.scale}" for m in cls)
        raise ConfigError(
            f"weights {model}.{choice} have no checkpoint for x{scale}",
            hint=f"known checkpoints: {', '.join(have)}",
        )


def unknown_weights(ref: str, known: set[str]) -> UnknownNameError:
    """The error for an unknown `model.tag`, with close matches and the listing command."""
    error = unknown_name("weights", ref, known)
    error.hint = "see `srbench weights list` for every known checkpoint"
    return error


def weights_enum(cls: type) -> type[WeightsEnum] | None:
    """The `weights` enum a model class declares, or None for a weight-free model."""
    declared = getattr(cls, "weights", None)
    if isinstance(declared, type) and issubclass(declared, WeightsEnum):
        return declared
    return None
