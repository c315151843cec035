"""Building registered models for a scale; the IO contract lives in `adapter`."""

from __future__ import annotations

import hashlib
import inspect
import sys
from dataclasses import dataclass

from torch import nn

from srbench.errors import ConfigError, ModelError
from srbench.registry import models
from srbench.weights import load_checkpoint, load_into, select_weights

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


def build_model(
    name: str, *, scale: int, device: str = "cpu", weights: str | None = None
) -> BuiltModel:
    """Instantiate registered model `name` for `scale` in eval mode on `device`.

    A model that declares a `weights` enum gets checkpoint `weights` (a tag) or the default
    for `scale`, loaded from the local cache with its SHA-256 checked; a missing file raises
    `WeightsError` saying how to get it. Nothing is downloaded here.
    """
    cls = models.get(name)
    scales = supported_scales(cls)
    if scales is not None and scale not in scales:
        raise ConfigError(
            f"model {name!r} supports scales {list(scales)}, not {scale}",
            hint=f"use --scales {','.join(map(str, scales))}",
        )
    entry = select_weights(name, cls, scale, weights)
    state, sha256 = load_checkpoint(name, entry) if entry is not None else ({}, "")
    try:
        module = cls(scale=scale, **(entry.options if entry is not None else {}))
    except Exception as exc:
        raise ModelError(f"model {name!r} failed to build at x{scale}: {exc}") from exc
    if entry is not None:
        load_into(module, state, what=f"weights {name}.{entry.tag} x{scale}")
    return BuiltModel(
        name=name,
        module=module.eval().to(device),
        version=model_version(cls),
        weights_tag=entry.tag if entry is not None else "",
        weights_sha256=sha256,
    )
