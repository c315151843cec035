"""Metrics from pyiqa and piq, by name (`--metrics pyiqa:niqe,piq:gmsd`).

Their conventions differ from the paper protocol (SPEC §3): they take RGB in [0, 1] and
convert colour inside the metric, so their PSNR/SSIM are not the paper's. srbench hands
them the protocol's prepared RGB (after modcrop, uint8 rounding and the border shave).
A metric whose weights would need a download is reported unavailable with that reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from srbench.errors import ConfigError, WeightsError
from srbench.specs import MetricSpec

__all__ = ["piq_metric", "pyiqa_metric"]

Metric = Callable[[Tensor, Tensor], Tensor]


@functools.cache
def _pyiqa_model(name: str, device: str) -> Any:
    import pyiqa

    try:
        return pyiqa.create_metric(name, device=device, as_loss=False)
    except Exception as exc:  # pyiqa downloads weights at creation; offline that fails
        raise WeightsError(
            f"pyiqa could not create {name!r}: {type(exc).__name__}: {exc}",
            hint="pyiqa fetches many metrics' weights at first use: run once online, or "
            "place them in pyiqa's cache (see pyiqa's docs)",
        ) from exc


def pyiqa_metric(name: str) -> tuple[Metric, dict[str, Any]]:
    """A per-image wrapper of pyiqa metric `name` (full-reference or no-reference)."""
    try:
        import pyiqa
    except ImportError as exc:
        raise ConfigError(
            f"metric pyiqa:{name} needs pyiqa", hint="pip install 'srbench[iqa]'"
        ) from exc
    if name not in pyiqa.list_models():
        raise ConfigError(f"pyiqa has no metric {name!r}", hint="see pyiqa.list_models()")

    def metric(sr: Tensor, hr: Tensor) -> Tensor:
        model = _pyiqa_model(name, str(sr.device))
        with torch.inference_mode():
            score = (
                model(sr.float()) if model.metric_mode == "NR" else model(sr.float(), hr.float())
            )
        return score.flatten().double()

    metric.__doc__ = f"pyiqa's {name} (its own conventions; not the paper protocol)."
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    lower_better = bool(DEFAULT_CONFIGS.get(name, {}).get("lower_better"))
    spec = MetricSpec(name=f"pyiqa:{name}", higher_is_better=not lower_better, space="rgb01")
    return metric, {"spec": spec}


# piq functions that are full-reference, per image, and higher-is-better or not.
_PIQ_LOWER_BETTER = {"gmsd", "multi_scale_gmsd", "dists", "lpips", "haarpsi_loss"}


def piq_metric(name: str) -> tuple[Metric, dict[str, Any]]:
    """A per-image wrapper of `piq.<name>(sr, hr, data_range=1.0, reduction='none')`."""
    import piq

    fn = getattr(piq, name, None)
    if fn is None or not callable(fn) or isinstance(fn, type):
        raise ConfigError(
            f"piq has no metric function {name!r}",
            hint="use a piq function name such as gmsd, fsim, vif_p",
        )

    def metric(sr: Tensor, hr: Tensor) -> Tensor:
        return fn(sr.float(), hr.float(), data_range=1.0, reduction="none").flatten().double()

    metric.__doc__ = f"piq's {name} (its own conventions; not the paper protocol)."
    spec = MetricSpec(
        name=f"piq:{name}", higher_is_better=name not in _PIQ_LOWER_BETTER, space="rgb01"
    )
    return metric, {"spec": spec}
