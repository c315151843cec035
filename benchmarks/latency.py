"""Latency, parameters and FLOPs of the baselines on a Set14-sized image (500×480 HR).

Usage:
    python benchmarks/latency.py [--models srcnn,vdsr,edsr-baseline,edsr] [--scales 2,4]
        [--device cpu] [--warmup 2] [--repeats 10] [--budget-s 60] [--out results/baselines]

Times the network's own forward on the input it sees (pre-upsampled Y for SRCNN/VDSR, the
LR RGB for EDSR) under `torch.inference_mode`, warm-up excluded (srbench.engine.timing:
perf_counter on CPU, CUDA events on GPU). Weights are the default checkpoint's architecture
with random values: latency does not depend on the values. Slow cells get fewer repeats so
each stays within --budget-s (never fewer than 3). FLOPs = 2 × MACs (conv/matmul only).
Prints a table and writes latency_<device>.csv and .md under --out.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from srbench.engine.complexity import count_flops, model_input_shape
from srbench.engine.timing import timer_for
from srbench.models.adapter import model_dtype
from srbench.registry import models
from srbench.weights import weights_enum

HR_SIZE = (480, 500)  # (h, w) of a Set14-sized HR image (e.g. baboon is 500 wide, 480 high)


def _build(name: str, scale: int, device: str) -> torch.nn.Module:
    cls = models.get(name)
    enum = weights_enum(cls)
    default = enum.default(scale) if enum is not None else None
    options = dict(default.meta.options) if default is not None else {}
    return cls(scale=scale, **options).eval().to(device)


def measure(
    name: str, scale: int, device: str, warmup: int, repeats: int, budget_s: float
) -> dict[str, object]:
    """One row: cost at the stated input and latency statistics of the forward pass."""
    module = _build(name, scale, device)
    lr_size = (HR_SIZE[0] // scale, HR_SIZE[1] // scale)
    shape = model_input_shape(module, lr_size, scale)
    cost = count_flops(module, shape)
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0)).to(
        device, model_dtype(module)
    )
    timer = timer_for(device)
    with torch.inference_mode():
        start = time.perf_counter()  # the first warm-up call also sizes the repeats
        module(x)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        probe = time.perf_counter() - start
        n = max(3, min(repeats, int(budget_s / max(probe, 1e-6))))
        # a slow cell is warm after its first call; more warm-up would cost minutes
        extra = max(warmup - 1, 0) if probe * (n + warmup) <= budget_s else 0
        stats = timer.measure(lambda: module(x), warmup=extra, repeats=n)
    return {
        "model": name,
        "scale": scale,
        "hr": f"{HR_SIZE[0]}x{HR_SIZE[1]}",
        "input_shape": "x".join(map(str, shape)),
        "params": cost.params,
        "macs_g": cost.macs / 1e9,
        "flops_g": cost.flops / 1e9,
        "median_ms": stats.median_ms,
        "p90_ms": stats.p90_ms,
        "min_ms": stats.min_ms,
        "mean_ms": stats.mean_ms,
        "std_ms": stats.std_ms,
        "warmup": stats.warmup + 1,
        "repeats": stats.repeats,
        "timer": stats.timer,
        "peak_mem_bytes": stats.peak_mem_bytes,
        "device": device,
        "device_name": _device_name(device),
        "threads": torch.get_num_threads(),
        "dtype": str(model_dtype(module)).removeprefix("torch."),
        "torch": torch.__version__,
    }


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine()


def main() -> None:
    """Measure every (model, scale) and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="srcnn,vdsr,edsr-baseline,edsr")
    parser.add_argument("--scales", default="2,4")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--budget-s", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    load_before = os.getloadavg()[0]
    rows = []
    for name in args.models.split(","):
        for scale in (int(s) for s in args.scales.split(",")):
            row = measure(name, scale, args.device, args.warmup, args.repeats, args.budget_s)
            print(
                f"{name:14s} x{scale}  median {row['median_ms']:9.1f} ms  p90 "
                f"{row['p90_ms']:9.1f} ms  ({row['repeats']} runs)  params {row['params']:,}  "
                f"{row['flops_g']:.1f} GFLOPs on {row['input_shape']}",
                flush=True,
            )
            rows.append(row)
    table = pd.DataFrame(rows)
    if args.out is None:
        return
    args.out.mkdir(parents=True, exist_ok=True)
    kind = args.device.split(":")[0]
    table.to_csv(args.out / f"latency_{kind}.csv", index=False, float_format="%.4g")
    first = rows[0]
    lines = [
        f"# Baselines: latency on {first['device_name']} ({first['device']}, "
        f"{first['threads']} threads, {first['dtype']}), Set14-sized input",
        "",
        "| model | scale | network input | params | GFLOPs | median ms | p90 ms | runs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | x{r['scale']} | {r['input_shape']} | {r['params']:,} | "
            f"{r['flops_g']:.1f} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | "
            f"{r['repeats']} (+{r['warmup']} warm-up) |"
        )
    lines += [
        "",
        f"- HR {HR_SIZE[0]}×{HR_SIZE[1]} (h×w); the network input is the LR (EDSR) or the "
        "bicubic-upscaled Y (SRCNN, VDSR); forward pass only, no I/O or protocol work.",
        "- FLOPs = 2 × MACs, convolutions and matrix products only "
        "(torch.utils.flop_counter); parameters exclude EDSR's fixed mean-shift constants.",
        f"- timer: {first['timer']}; torch {torch.__version__}; python "
        f"{platform.python_version()}; random weights (latency does not depend on values).",
        f"- 1-minute load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on "
        f"{os.cpu_count()} CPUs (other work on the machine inflates CPU latency).",
        f"- command: `{command}`",
    ]
    (args.out / f"latency_{kind}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
