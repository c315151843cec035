"""Building registered models for a scale; the IO contract lives in `adapter`."""

from __future__ import annotations

import hashlib
import inspect
import sys
from dataclasses import dataclass

from torch import nn

from srbench.errors import ConfigError, ModelError
from srbench.registry import models

__all__ = ["BuiltModel", "build_model", "model_version", "supported_scales"]


@dataclass(frozen=True, slots=True)
class BuiltModel:
    """A model instance ready for inference, with the identity of its weights."""

    name: str
    module: nn.Module
    version: str
    weights_tag: str = ""
    weights_sha256: str = ""


def supported_scales(cls: type) -> tuple[int, ...] | None:
    """Scales a model class declares (`scales = (2, 3, 4)`), or None for any integer scale."""
    scales = getattr(cls, "scales", None)
    return tuple(scales) if scales is not None else None


def model_version(cls: type) -> str:
    """A short hash of the source of the module defining `cls` (asv-style plugin version)."""
    module = sys.modules.get(cls.__module__)
    try:
        source = inspect.getsource(module) if module is not None else cls.__qualname__
    except (OSError, TypeError):
        source = cls.__qualname__
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def build_model(name: str, *, scale: int, device: str = "cpu") -> BuiltModel:
    """Instantiate registered model `name` for `scale` in eval mode on `device`."""
    cls = models.get(name)
    scales = supported_scales(cls)
    if scales is not None and scale not in scales:
        raise ConfigError(
            f"model {name!r} supports scales {list(scales)}, not {scale}",
            hint=f"use --scales {','.join(map(str, scales))}",
        )
    try:
        module = cls(scale=scale)
    except Exception as exc:
        raise ModelError(f"model {name!r} failed to build at x{scale}: {exc}") from exc
    return BuiltModel(name=name, module=module.eval().to(device), version=model_version(cls))
