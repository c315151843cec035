"""Per (model, scale): parameters, MACs/FLOPs at a stated input, and forward latency.

The cost input is the LR of a 1280×720 output (the "720p" convention of SR papers),
recorded with every row. Latency times the network's own forward on a device-resident
input (no I/O, no host↔device copies, no protocol work) with warm-up excluded: CUDA events
plus synchronise on CUDA, `perf_counter` on CPU with the thread count recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from srbench.engine.complexity import count_flops, model_input_shape
from srbench.engine.config import TIMING_MODES, TimingMode
from srbench.engine.timing import timer_for
from srbench.models import BuiltModel
from srbench.models.adapter import model_dtype, model_io
from srbench.store.sqlite import utc_now

COST_OUTPUT = (720, 1280)  # (H, W) of the output the MAC count is stated for

# quick: a small input and few repeats, for every run; full: the stated input, more repeats.
PLANS = {"quick": ((96, 96), 1, 5), "full": (None, 3, 10)}

__all__ = ["COST_OUTPUT", "TIMING_MODES", "TimingMode", "complexity_row", "cost_lr_size", "profile"]


def cost_lr_size(scale: int) -> tuple[int, int]:
    """LR (h, w) whose output is about 1280×720 at `scale` (rounded to whole pixels)."""
    return round(COST_OUTPUT[0] / scale), round(COST_OUTPUT[1] / scale)


@dataclass(frozen=True, slots=True)
class Profile:
    """Store rows for one built model at one scale: complexity and (optionally) timing."""

    complexity: dict[str, object]
    timing: dict[str, object] | None


def complexity_row(built: BuiltModel, scale: int) -> dict[str, object]:
    """The store row of `built`'s parameters, MACs and FLOPs at `scale`, at the cost input."""
    module = built.module
    cost = count_flops(module, model_input_shape(module, cost_lr_size(scale), scale))
    return {
        "model": built.name,
        "weights_sha256": built.weights_sha256,
        "scale": scale,
        "params": cost.params,
        "macs": cost.macs,
        "flops": cost.flops,
        "input_shape": "x".join(map(str, cost.input_shape)),
        "flops_convention": cost.flops_convention,
        "counter": cost.counter,
        "created_at": utc_now(),
    }


def profile(
    built: BuiltModel,
    scale: int,
    mode: TimingMode,
    device: str,
    counted: dict[str, object] | None = None,
) -> Profile:
    """Count the cost of `built` at `scale` (unless `counted` already holds its row) and,
    unless `mode` is off, time its forward."""
    module = built.module
    row = counted if counted is not None else complexity_row(built, scale)
    if mode == "off":
        return Profile(row, None)
    size, warmup, repeats = PLANS[mode]
    shape = model_input_shape(module, size or cost_lr_size(scale), scale)
    dtype = model_dtype(module)
    gen = torch.Generator().manual_seed(0)
    inp = torch.rand(shape, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype)
    if model_io(module).native:  # what the run hands it: uint8 LR
        inp = inp.mul(255).to(torch.uint8)
    with torch.inference_mode():
        stats = timer_for(device).measure(lambda: module(inp), warmup=warmup, repeats=repeats)
    timing = {
        "model": built.name,
        "weights_sha256": built.weights_sha256,
        "scale": scale,
        "device": device,
        "dtype": str(dtype).removeprefix("torch."),
        "lr_h": shape[-2],
        "lr_w": shape[-1],
        "batch": shape[0],
        "timer": stats.timer,
        "warmup": stats.warmup,
        "repeats": stats.repeats,
        "median_ms": stats.median_ms,
        "p90_ms": stats.p90_ms,
        "min_ms": stats.min_ms,
        "mean_ms": stats.mean_ms,
        "std_ms": stats.std_ms,
        "peak_mem_bytes": stats.peak_mem_bytes,
        "threads": torch.get_num_threads(),
        "created_at": utc_now(),
    }
    return Profile(row, timing)
