"""Boundary ground truth for SPNet's boundary branch, computed from HR luminance (SPEC §6.2).

The paper used Berkeley (BSDS) human boundary annotations, which were never released with
the code; srbench's default is a Canny edge map of the HR luminance (`canny`, σ = 2, a
choice: a wider σ than skimage's 1 keeps object boundaries and drops fine texture).
Pluggable: `module:function` names any callable mapping a float luminance array in [0, 1]
of shape (H, W) to an (H, W) boolean or {0, 1} edge map.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from srbench.errors import ConfigError
from srbench.protocol.color import luma_channel

__all__ = ["BUILTIN", "boundary_map", "canny", "resolve"]

EdgeFn = Callable[[np.ndarray], np.ndarray]


def canny(luma: np.ndarray, *, sigma: float = 2.0) -> np.ndarray:
    """Canny edges (skimage.feature.canny, default thresholds) of luminance in [0, 1]."""
    from skimage.feature import canny as skimage_canny

    return skimage_canny(luma, sigma=sigma)


BUILTIN: dict[str, EdgeFn] = {"canny": canny}


def resolve(method: str) -> EdgeFn:
    """The edge function named `method`: a built-in name or `module:function`."""
    if method in BUILTIN:
        return BUILTIN[method]
    module_name, sep, attr = method.partition(":")
    if not sep:
        raise ConfigError(
            f"--boundary: unknown method {method!r}",
            hint=f"use one of {sorted(BUILTIN)} or `module:function`",
        )
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"--boundary: cannot import {method!r} ({exc})",
            hint="give an importable `module:function` taking a (H, W) array in [0, 1]",
        ) from exc
    if not callable(fn):
        raise ConfigError(f"--boundary: {method!r} is not callable")
    return fn


def boundary_map(hr: Tensor, method: str = "canny") -> Tensor:
    """Edge map (1, H, W) uint8 in {0, 1} of a uint8 HR image's luminance (MATLAB Y / raw gray)."""
    luma = (luma_channel(hr)[0] / 255.0).numpy()
    edges = np.asarray(resolve(method)(luma))
    if edges.shape != luma.shape:
        raise ConfigError(
            f"--boundary {method}: returned shape {edges.shape} for an image of {luma.shape}",
            hint="the edge function must return an (H, W) map",
        )
    return torch.from_numpy((edges > 0).astype(np.uint8))[None]
