"""Harness overhead of a model cell: the cell's wall time minus the network's own forward time.

Usage:
  python benchmarks/models.py --data-root DIR [--dataset Urban100] [--scale 4] [--images 10]
      [--models edsr-baseline,drn-s] [--device cuda] [--batch 4] [--dtype float16] [--json PATH]

For each model, on the first `--images` images of the dataset at `--scale`, `srbench run`
(in-process, `--timing off`) with only that model:
- cold: on an empty LR cache (the first model on the data);
- warm: after bicubic has run on the data (LR cache filled): the second model on
  already-evaluated data.
The network's forward calls inside the run are timed (the module's `forward`: wall time on
CPU, where a call returns when its work is done; GPU time between CUDA events on CUDA, so
forward / cell is how busy the GPU was), so overhead = (cell - forward) / cell is
measured in the same run under the same load. The forward is also timed alone (the same
LR images, already converted to the network's input, under `torch.inference_mode()`) to
show how much the harness's threads slow the forward itself. A cell excludes the
end-of-run cost counting (MACs). The networks are untrained (random weights; the same
arithmetic as the released checkpoints): "drn-s" is DRN-GS with its default DRN-S preset
(B = 30, F = 16, 4.8 M parameters).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import Tensor

import srbench.engine.run as engine
from srbench import register_model
from srbench.data.io import read_image
from srbench.engine.memory import keep_freed_memory
from srbench.engine.run import RunConfig, run
from srbench.models import build_model
from srbench.protocol import PAPER
from srbench.registry import datasets as dataset_registry
from srbench.registry import models as model_registry
from srbench.store.sqlite import cpu_name

MODELS = {"edsr-baseline": "edsr-baseline", "drn-s": "drn-gs"}  # DRN-GS's default preset is s
FORWARD_S = [0.0]  # seconds spent in the timed networks' forward calls (CPU)
CUDA_EVENTS: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []  # (start, end) per call


def _forward_seconds() -> float:
    """Time in forward calls since the last reset: wall time on CPU, GPU time on CUDA."""
    if CUDA_EVENTS:
        torch.cuda.synchronize()
        return FORWARD_S[0] + sum(a.elapsed_time(b) for a, b in CUDA_EVENTS) / 1000
    return FORWARD_S[0]


def _reset() -> None:
    FORWARD_S[0] = 0.0
    CUDA_EVENTS.clear()


def _timed_untrained(name: str) -> str:
    """Register `name` untrained, with its forward calls timed, as `bench-<name>`."""
    cls = model_registry.get(name)

    def forward(self: torch.nn.Module, lr: Tensor) -> Tensor:
        if lr.is_cuda:  # the GPU's own time: events around the kernels, read at the end
            events = (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            events[0].record()
            out = cls.forward(self, lr)
            events[1].record()
            CUDA_EVENTS.append(events)
            return out
        if lr.is_meta:  # the FLOP count's shape-only pass, which a cell's time excludes
            return cls.forward(self, lr)
        start = time.perf_counter()
        out = cls.forward(self, lr)
        FORWARD_S[0] += time.perf_counter() - start
        return out

    body = {"weights": None, "forward": forward, "__doc__": cls.__doc__}
    register_model(f"bench-{name}")(type(f"Timed{cls.__name__}", (cls,), body))
    return f"bench-{name}"


def _subset(root: Path, dataset: str, count: int, into: Path) -> Path:
    """A data root holding only the first `count` images of `dataset`."""
    spec = dataset_registry.get(dataset)
    folder = into / spec.name
    folder.mkdir(parents=True)
    for ref in spec.images(root, 2)[:count]:
        shutil.copy(ref.path, folder / ref.path.name)
    return into


def _cell(model: str, args: argparse.Namespace, root: Path, home: Path, out: Path) -> tuple:
    """(cell seconds without the end-of-run cost counting, forward seconds inside it)."""
    os.environ["SRBENCH_HOME"] = str(home)
    profiled = []
    profile_cells = engine._profile_cells

    def timed(*a: object, **k: object) -> None:
        start = time.perf_counter()
        profile_cells(*a, **k)  # type: ignore[arg-type]
        profiled.append(time.perf_counter() - start)

    engine._profile_cells = timed  # type: ignore[assignment]
    _reset()
    config = RunConfig(
        models=(model,),
        datasets=(args.dataset,),
        scales=(args.scale,),
        out=out,
        data_root=root,
        timing="off",
        device=args.device,
        batch=args.batch,
        dtype=args.dtype,
    )
    try:
        start = time.perf_counter()
        summary = run(config)
        wall = time.perf_counter() - start
    finally:
        engine._profile_cells = profile_cells  # type: ignore[assignment]
    if not summary.ok or summary.computed == 0:
        raise SystemExit(f"{model}: the run failed: {summary.failures or summary.skipped}")
    return wall - sum(profiled), _forward_seconds()


def _forward_alone(model: str, args: argparse.Namespace, root: Path) -> float:
    """The network alone on the same LR images, inputs prepared beforehand (RGB, 0-255)."""
    module = build_model(model, scale=args.scale, device=args.device).module
    dtype = getattr(torch, args.dtype) if args.dtype else torch.float32
    module.to(dtype)
    inputs = []
    for ref in dataset_registry.get(args.dataset).images(root, args.scale):
        hr = PAPER.crop_hr(read_image(ref.path).unsqueeze(0), args.scale)
        inputs.append(PAPER.make_lr(hr, args.scale).to(args.device, dtype))
    with torch.inference_mode():
        module(inputs[0][..., :48, :48])  # warm-up
        _reset()
        for x in inputs:
            module(x)
        return _forward_seconds()


def main() -> None:
    """Measure each model's cell cold and warm against its forward time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--dataset", default="Urban100")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--models", default="edsr-baseline,drn-s")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    keep_freed_memory()  # as `srbench run` does
    from torch.utils.flop_counter import FlopCounterMode  # noqa: F401  (its import is no cell's)

    folder = dataset_registry.get(args.dataset).locate(args.data_root, args.scale).folder
    synthetic = " (SYNTHETIC images)" if (folder / "SYNTHETIC").exists() else ""
    machine = {
        "cpu": cpu_name(),
        "cores": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": args.device,
        "device_name": torch.cuda.get_device_name(args.device) if "cuda" in args.device else "",
        "load_average_before": os.getloadavg(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
    }
    report = {"dataset": args.dataset + synthetic, "scale": args.scale, "images": args.images}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = _subset(args.data_root, args.dataset, args.images, work / "data")
        _cell("bicubic", args, root, work / "warm-home", work / "out-bicubic")  # fills the cache
        for name in args.models.split(","):
            model = _timed_untrained(MODELS[name])
            cold, cold_fwd = _cell(model, args, root, work / f"home-{name}", work / f"c-{name}")
            warm, warm_fwd = _cell(model, args, root, work / "warm-home", work / f"w-{name}")
            alone = _forward_alone(model, args, root)
            results[name] = {
                "cell_cold_s": cold,
                "forward_in_cold_cell_s": cold_fwd,
                "overhead_cold": (cold - cold_fwd) / cold,
                "cell_warm_s": warm,
                "forward_in_warm_cell_s": warm_fwd,
                "overhead_warm": (warm - warm_fwd) / warm,
                "forward_alone_s": alone,
            }
            share = {k: 100 * results[name][f"overhead_{k}"] for k in ("cold", "warm")}
            print(
                f"{name} {args.dataset}{synthetic} x{args.scale}, {args.images} images: "
                f"cell {cold:.2f} s with an empty LR cache, {share['cold']:.1f} % outside the "
                f"forward; {warm:.2f} s with the LR cache filled, {share['warm']:.1f} % outside; "
                f"forward alone {alone:.2f} s"
            )
    machine["load_average_after"] = os.getloadavg()
    report |= {"models": results, "machine": machine}
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
