"""Model size and cost: parameters, and MACs/FLOPs at a stated input size (SPEC §7).

FLOPs come from `torch.utils.flop_counter.FlopCounterMode`, which counts multiply-adds of
convolutions and matrix products as 2 FLOPs each and ignores element-wise work (ReLU,
additions, pixel shuffle); so MACs = FLOPs / 2. The count runs on a copy of the model on
the `meta` device: no arithmetic is done, so it is instant even for EDSR on a large input.

Entering the counter imports `torch._dynamo` (about 2 s on a 2-core machine, more than
scoring all of B100), so counts are kept under `$SRBENCH_HOME/complexity/`, keyed by a
fingerprint of everything they depend on: the model's class, its printed structure and
plain attributes (such as `scale`), the names, shapes and dtypes of its parameters and
buffers, its IO contract, the input shape and dtype, the torch version and the counting
convention. An unreadable entry is counted again and rewritten; a cache that cannot be
written is skipped.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from srbench.engine.lrcache import CacheInfo
from srbench.models.adapter import model_dtype, model_io
from srbench.weights import srbench_home

__all__ = [
    "FLOPS_CONVENTION",
    "Complexity",
    "clear_complexity_cache",
    "complexity_cache_dir",
    "complexity_cache_info",
    "count_flops",
    "count_params",
    "model_input_shape",
]

FLOPS_CONVENTION = "FLOPs = 2 × MACs (conv and matmul only, torch.utils.flop_counter)"

log = logging.getLogger("srbench")
_PLAIN = (bool, int, float, str, tuple)  # attribute types a fingerprint records


@dataclass(frozen=True, slots=True, kw_only=True)
class Complexity:
    """Parameters and cost of one forward pass on an input of `input_shape` (N, C, H, W)."""

    params: int
    macs: int
    flops: int
    input_shape: tuple[int, ...]
    flops_convention: str
    counter: str


def count_params(module: nn.Module) -> int:
    """Number of parameters (buffers such as fixed mean shifts are not counted)."""
    return sum(p.numel() for p in module.parameters())


def model_input_shape(
    module: nn.Module, lr_size: tuple[int, int], scale: int, *, batch: int = 1
) -> tuple[int, int, int, int]:
    """The shape the network itself sees for an LR image of `lr_size` (h, w), per its ModelIO:
    1 channel for Y models, 3 for RGB, and `scale` times the size if it is pre-upsampled."""
    io = model_io(module)
    height, width = lr_size
    if io.upsampled_input:
        height, width = height * scale, width * scale
    return (batch, 1 if io.color == "y" else 3, height, width)


def complexity_cache_dir() -> Path:
    """Where FLOP counts are cached: `<srbench_home()>/complexity`."""
    return srbench_home() / "complexity"


def complexity_cache_info() -> CacheInfo:
    """The FLOP-count cache's folder, its entries and their total size."""
    return CacheInfo.of(complexity_cache_dir(), sorted(complexity_cache_dir().glob("*.json")))


def clear_complexity_cache() -> CacheInfo:
    """Delete every cached FLOP count; returns what was there."""
    before = complexity_cache_info()
    for path in complexity_cache_dir().glob("*.json"):
        path.unlink(missing_ok=True)
    return before


def _fingerprint(module: nn.Module, input_shape: tuple[int, ...]) -> str:
    """SHA-256 of everything a FLOP count of `module` on `input_shape` depends on."""
    kind = type(module)
    tensors = [
        (name, tuple(t.shape), str(t.dtype))
        for name, t in [*module.named_parameters(), *module.named_buffers()]
    ]
    settings = [  # plain attributes such as `scale` that steer a forward but not its repr
        sorted((k, repr(v)) for k, v in vars(m).items() if isinstance(v, _PLAIN))
        for m in module.modules()
    ]
    parts = [
        FLOPS_CONVENTION,
        torch.__version__,
        f"{kind.__module__}.{kind.__qualname__}",
        repr(module),
        repr(tensors),
        repr(settings),
        repr(model_io(module)),
        repr(tuple(input_shape)),
        str(model_dtype(module)),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _count(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    meta = copy.deepcopy(module).to("meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        meta(torch.empty(input_shape, dtype=model_dtype(module), device="meta"))
    return int(counter.get_total_flops())


def _cached_flops(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    path = complexity_cache_dir() / f"{_fingerprint(module, input_shape)}.json"
    try:
        return int(json.loads(path.read_text())["flops"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent or unreadable: count again
    flops = _count(module, input_shape)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")  # unique across hosts sharing it
        tmp.write_text(json.dumps({"flops": flops}))
        tmp.replace(path)
    except OSError as exc:
        log.debug("could not cache the FLOP count in %s: %s", path.parent, exc)
    return flops


def count_flops(module: nn.Module, input_shape: tuple[int, ...]) -> Complexity:
    """Parameters, MACs and FLOPs of `module` on a float input of `input_shape`."""
    flops = _cached_flops(module, tuple(input_shape))
    return Complexity(
        params=count_params(module),
        macs=flops // 2,
        flops=flops,
        input_shape=tuple(input_shape),
        flops_convention=FLOPS_CONVENTION,
        counter=f"torch.utils.flop_counter (torch {torch.__version__})",
    )
