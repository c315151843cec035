"""Time the bicubic paper-protocol table through srbench, BasicSR and pyiqa in one run.

Usage:
  python benchmarks/compare_anchors.py [--data-root DIR] [--datasets Set5,Set14]
      [--scales 2,3,4] [--paths srbench,basicsr,pyiqa] [--json PATH]

Paths, all on the same images in one process and one run (so all see the same load):
- srbench: `srbench run --models bicubic ... --timing off` as a whole process (imports,
  decoding, LR, store) on a fresh results directory and an empty SRBENCH_HOME (no cached
  LR images or FLOP counts), three times, reporting the run of median wall time (all three
  are printed); then again with both cached (a second model on the same data); and per
  cell, in-process, after one untimed run. Also the cost of a process that
  only imports what a run imports (`python -c "import srbench.cli.run, srbench.engine.run"`,
  torch included; `srbench --version` no longer imports torch). Wall and CPU time (user +
  system, all threads) are both recorded; on a VM both ratios drift with the host's load.
- BasicSR 1.4.2: `matlab_functions.imresize` down and up, uint8 rounding, `calculate_psnr`
  and `calculate_ssim` (test_y_channel=True, crop_border=scale); decoding not counted.
- pyiqa: `psnr` and `ssim` (test_y_channel=True, color_space='ycbcr', crop_border=scale,
  SSIM downsample=False) on BasicSR's SR images; only the metrics are timed.
- decode: every image decoded once and nothing else (the floor of any path), with srbench's
  decoder (libdeflate and a compiled unfilter), and again with the decoders the anchors'
  users load images with, Pillow (pyiqa) and OpenCV (BasicSR), each checked to give the
  same pixels.
It first checks that the paths agree on every (dataset, scale) cell: PSNR within 1e-3 dB,
SSIM within 1e-4 of BasicSR and 2e-3 of pyiqa (which rounds Y before SSIM); otherwise it
prints the disagreement and exits 1 without reporting speed. It also prints the arithmetic
floor: the multiply-adds resampling, Y and SSIM need for these pixels, each at the
multiply-add rate a large matmul reaches on this machine's cores in the dtype srbench
computes it in (float64 for resampling and Y, float32 for SSIM's window). And the work
floor: the CPU time srbench's own steps take on one core (the start-up imports and numba's
start, decoding, and each protocol step timed in-process over every image and scale),
divided by the cores; no scheduling can beat it, so BasicSR's time over it bounds the
ratio these steps can show.
This process calls `keep_freed_memory()` as `srbench run` does, so every in-process path
gets the same allocator. basicsr and pyiqa come with `pip install srbench[bench]`; a
missing one is skipped, saying so.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from anchors import (
    Image,
    PathResult,
    arithmetic_macs,
    basicsr_path,
    clocks,
    decode,
    missing,
    peak_gmacs,
    pyiqa_path,
    reference_decode,
)

from srbench.cli.run import default_datasets
from srbench.data.sets import resolve_data_root
from srbench.engine.memory import keep_freed_memory
from srbench.engine.run import RunConfig, run
from srbench.protocol import PAPER
from srbench.registry import datasets as dataset_registry
from srbench.registry import metrics as metric_registry
from srbench.registry import models as model_registry
from srbench.store.sqlite import Store, cpu_name

TOLERANCE = {"basicsr": (1e-3, 1e-4), "pyiqa": (1e-3, 2e-3)}  # PSNR dB, SSIM
COLD_RUNS = 3  # whole cold processes; the median is reported (one run moves +-15 % on a VM)
Cell = tuple[str, int]


def _seconds(command: list[str], home: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, all threads) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command, env={**os.environ, "SRBENCH_HOME": str(home)}, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def srbench_path(
    names: list[str], scales: tuple[int, ...], root: Path, work: Path
) -> tuple[PathResult, dict[str, tuple[float, float]]]:
    """Whole-process timings, per-cell in-process timings, and the stored values."""
    srbench = [sys.executable, "-m", "srbench"]
    command = [*srbench, "run", "--models", "bicubic", "--datasets", ",".join(names)]
    command += ["--scales", ",".join(map(str, scales)), "--timing", "off", "--data-root", str(root)]
    # what every run pays before its first image: the imports and numba's start, with the
    # garbage collector handled as `srbench.cli.entry` and `heavy_imports` handle it
    imports = (
        "import gc; gc.freeze(); gc.disable(); import srbench.cli.run, srbench.engine.run; "
        "srbench.data.png.prepare(); gc.freeze()"
    )
    whole = {"start": _seconds([sys.executable, "-c", imports], work / "home")}
    colds = [
        _seconds([*command, "--out", str(work / f"out-{k}")], work / f"home-{k}")
        for k in range(COLD_RUNS)
    ]
    whole["cold"] = sorted(colds)[COLD_RUNS // 2]  # the run of median wall time
    whole |= {f"cold_{k}": run for k, run in enumerate(colds)}
    last = work / f"home-{COLD_RUNS - 1}"
    whole["warm"] = _seconds([*command, "--out", str(work / "out-warm")], last)
    result = PathResult()
    rows = Store(work / "out-0", create=False).results()
    for (dataset, scale, image), group in rows.groupby(["dataset", "scale", "image_id"]):
        values = dict(zip(group["metric"], group["value"], strict=True))
        result.values[(dataset, int(scale), image)] = (values["psnr"], values["ssim"])
    for k, (name, scale) in enumerate(
        [(names[0], scales[0])] + [(n, c) for n in names for c in scales]
    ):
        os.environ["SRBENCH_HOME"] = str(work / f"cell-home-{k}")
        config = RunConfig(
            models=("bicubic",),
            datasets=(name,),
            scales=(scale,),
            out=work / f"cell-out-{k}",
            data_root=root,
            timing="off",
        )
        start = clocks()
        run(config)
        if k > 0:  # the first run pays one-time costs (imports, first plans): not a cell's
            result.add((dataset_registry.get(name).name, scale), start)
    return result, whole


STEPS = ("lr", "sr", "hr_views", "sr_views", "psnr", "ssim")


def srbench_work(images: list[Image], scales: tuple[int, ...]) -> dict[str, float]:
    """CPU seconds of each protocol step of srbench's table on one core, in-process and
    warmed up, over every image and scale: LR (`make_lr`), SR (the bicubic model), the HR's
    views (once per image, shared by its scales), the SR's views, PSNR and SSIM."""
    psnr, ssim = metric_registry.get("psnr"), metric_registry.get("ssim")
    bicubic = model_registry.get("bicubic")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    steps = dict.fromkeys(STEPS, 0.0)
    try:
        for warm in (True, False):
            for img in images[:1] if warm else images:
                pixels = img.pixels[..., None] if img.pixels.ndim == 2 else img.pixels
                hr = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None]
                work = PAPER.working(hr)
                for scale in scales:
                    tick = time.process_time()
                    crop = work.crop(scale)
                    lr = PAPER.make_lr(crop, scale)
                    tick = _step(steps, "lr", tick)
                    sr = bicubic(scale=scale)(lr)
                    tick = _step(steps, "sr", tick)
                    work.converted("y255", crop)
                    tick = _step(steps, "hr_views", tick)
                    x, y = PAPER.prepare(sr, crop, scale, source=work).view("y255")
                    tick = _step(steps, "sr_views", tick)
                    psnr(x, y)
                    tick = _step(steps, "psnr", tick)
                    ssim(x, y)
                    _step(steps, "ssim", tick)
            if warm:
                steps = dict.fromkeys(STEPS, 0.0)
    finally:
        torch.set_num_threads(previous)
    return steps


def _step(steps: dict[str, float], name: str, tick: float) -> float:
    now = time.process_time()
    steps[name] += now - tick
    return now


def _means(values: dict, cell: Cell) -> np.ndarray:
    return np.mean([v for k, v in values.items() if k[:2] == cell], axis=0)


def agreement(paths: dict[str, PathResult], cells: list[Cell]) -> list[str]:
    """Cells where a path's mean PSNR/SSIM differs from srbench's by more than allowed."""
    problems = []
    for name, (psnr_tol, ssim_tol) in TOLERANCE.items():
        for cell in cells if name in paths else []:
            ours, theirs = _means(paths["srbench"].values, cell), _means(paths[name].values, cell)
            d_psnr, d_ssim = abs(ours - theirs)
            if d_psnr > psnr_tol or d_ssim > ssim_tol:
                problems.append(
                    f"{cell[0]} x{cell[1]}: srbench {ours[0]:.4f}/{ours[1]:.5f}, "
                    f"{name} {theirs[0]:.4f}/{theirs[1]:.5f}"
                )
    return problems


def main() -> None:
    """Run every path, check agreement, print and (with --json) write the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--datasets", default=None)
    parser.add_argument("--scales", default="2,3,4")
    parser.add_argument("--paths", default="srbench,basicsr,pyiqa")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    keep_freed_memory()
    root = resolve_data_root(args.data_root)
    if root is None:
        raise SystemExit("set --data-root or SRBENCH_DATA_ROOT to the folder holding the sets")
    names = args.datasets.split(",") if args.datasets else list(default_datasets(root))
    scales = tuple(int(s) for s in args.scales.split(","))
    wanted = set(args.paths.split(","))
    for name in missing():
        if name in wanted:
            print(f"skipping the {name} path: {name} is not installed (pip install srbench[bench])")
            wanted.discard(name)
    specs = [dataset_registry.get(n) for n in names]
    refs = [(s.name, r.image_id, r.path) for s in specs for r in s.images(root, scales[0])]
    synthetic = {s.name: (s.locate(root, scales[0]).folder / "SYNTHETIC").exists() for s in specs}
    machine = {
        "cpu": cpu_name(),
        "cores": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_before": os.getloadavg(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
    }
    images, decoded = decode(refs)
    decoded_by = {"srbench": decoded} | reference_decode(images, refs)
    paths: dict[str, PathResult] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths["srbench"], whole = srbench_path(names, scales, root, Path(tmp))
    work = srbench_work(images, scales)
    if wanted & {"basicsr", "pyiqa"}:
        basicsr, srs = basicsr_path(images, scales)
        if "basicsr" in wanted:
            paths["basicsr"] = basicsr
        if "pyiqa" in wanted:
            paths["pyiqa"] = pyiqa_path(srs, scales)
    machine["load_average_after"] = os.getloadavg()
    cells = [(s.name, scale) for s in specs for scale in scales]
    problems = agreement(paths, cells)
    if problems:
        print("The paths disagree; no speed is reported:\n  " + "\n  ".join(problems))
        raise SystemExit(1)
    macs = arithmetic_macs(images, scales)
    floor = {
        "gmac": {dtype: n / 1e9 for dtype, n in macs.items()},
        "rate": {
            dtype: peak_gmacs(torch.get_num_threads(), getattr(torch, dtype)) for dtype in macs
        },
    }
    report = build_report(images, cells, paths, whole, decoded_by, synthetic, floor, work)
    report["machine"] = machine
    print_report(report)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


def build_report(
    images: list[Image],
    cells: list[Cell],
    paths: dict[str, PathResult],
    whole: dict[str, tuple[float, float]],
    decoded_by: dict[str, PathResult],
    synthetic: dict[str, bool],
    floor: dict[str, dict[str, float]],
    work: dict[str, float],
) -> dict:
    """The JSON record: totals, ratios, floors, one row per cell and one entry per set.

    `decoded_by` holds the decode-once floor by decoder, srbench's own first."""
    decoded = decoded_by["srbench"]
    megapixels: dict[Cell, float] = {cell: 0.0 for cell in cells}
    for img in images:
        for dataset, scale in (c for c in cells if c[0] == img.dataset):
            h, w = (n - n % scale for n in img.pixels.shape[:2])
            megapixels[(dataset, scale)] += h * w / 1e6
    rows = []
    for cell in cells:
        row: dict[str, object] = {
            "dataset": cell[0],
            "scale": cell[1],
            "megapixels": megapixels[cell],
        }
        for name, result in paths.items():
            psnr, ssim = _means(result.values, cell)
            row |= {f"{name}_s": result.seconds[cell], f"{name}_cpu_s": result.cpu[cell]}
            row |= {f"{name}_psnr": psnr, f"{name}_ssim": ssim}
        rows.append(row)
    sets = {}
    for dataset in dict.fromkeys(c[0] for c in cells):
        mp = sum(
            i.pixels.shape[0] * i.pixels.shape[1] / 1e6 for i in images if i.dataset == dataset
        )
        per = {"decode": decoded.seconds[(dataset, 0)] / mp}
        for name, result in paths.items():
            per[name] = sum(v for k, v in result.seconds.items() if k[0] == dataset) / mp
        sets[dataset] = {"synthetic": synthetic[dataset], "hr_megapixels": mp, "s_per_mp": per}
    wall = {name: sum(r.seconds.values()) for name, r in paths.items()}
    cpu = {name: sum(r.cpu.values()) for name, r in paths.items()}
    for name, result in decoded_by.items():
        key = "decode" if name == "srbench" else f"decode_{name}"
        wall[key], cpu[key] = sum(result.seconds.values()), sum(result.cpu.values())
    wall["srbench_run"], cpu["srbench_run"] = whole["cold"]
    floor_s = sum(floor["gmac"][dtype] / floor["rate"][dtype] for dtype in floor["gmac"])
    work = {"start": whole["start"][1], "decode": cpu["decode"]} | work
    work_floor_s = sum(work.values()) / len(os.sched_getaffinity(0))
    basicsr_over_work = wall["basicsr"] / work_floor_s if "basicsr" in wall else None

    def ratios(of: dict[str, float]) -> dict[str, float | None]:
        ours = of["srbench_run"]
        return {
            "basicsr_over_srbench": of["basicsr"] / ours if "basicsr" in of else None,
            "pyiqa_over_srbench": of["pyiqa"] / ours if "pyiqa" in of else None,
            "srbench_over_decode": ours / of["decode"],
        } | {
            f"srbench_over_decode_{name}": ours / of[f"decode_{name}"]
            for name in decoded_by
            if name != "srbench"
        }

    return {
        "srbench_s": wall["srbench_run"],
        "srbench_cold_runs_s": [whole[f"cold_{k}"][0] for k in range(COLD_RUNS)],
        "srbench_warm_s": whole["warm"][0],
        "srbench_process_start_s": whole["start"][0],
        "srbench_cells_s": wall["srbench"],
        "basicsr_s": wall.get("basicsr"),
        "pyiqa_s": wall.get("pyiqa"),
        "decode_s": wall["decode"],
        "reference_decode_s": {n: wall[f"decode_{n}"] for n in decoded_by if n != "srbench"},
        "cpu_s": cpu | {"srbench_warm": whole["warm"][1], "srbench_start": whole["start"][1]},
        "arithmetic_floor_s": floor_s,
        "work_cpu_s": work,
        "work_floor_s": work_floor_s,
        "arithmetic_gmac": floor["gmac"],
        "peak_gmac_per_s": floor["rate"],
        "images": len(images),
        "ratios": ratios(wall)
        | {
            "srbench_over_arithmetic_floor": wall["srbench_run"] / floor_s,
            "srbench_over_work_floor": wall["srbench_run"] / work_floor_s,
            "basicsr_over_work_floor": basicsr_over_work,
        },
        "ratios_cpu": ratios(cpu),
        "cells": rows,
        "sets": sets,
    }


def print_report(report: dict) -> None:
    """The per-cell table, seconds per megapixel per set, the totals and the ratios."""
    machine, ratios = report["machine"], report["ratios"]
    gmac, rate = report["arithmetic_gmac"], report["peak_gmac_per_s"]
    print(
        f"bicubic paper-protocol table, {report['images']} images; {machine['cpu']}, "
        f"{machine['cores']} cores, torch {machine['torch']} on {machine['torch_threads']} "
        f"threads; load average {machine['load_average_before'][0]:.2f} before, "
        f"{machine['load_average_after'][0]:.2f} after; {machine['date']}"
    )
    print("all paths agree on every cell (PSNR 1e-3 dB; SSIM 1e-4 BasicSR, 2e-3 pyiqa)\n")
    paths = [p for p in ("srbench", "basicsr", "pyiqa") if f"{p}_s" in report["cells"][0]]
    print(
        f"{'cell':<13}{'MP':>6}"
        + "".join(f"{p + ' s':>11}" for p in paths)
        + "".join(f"{p + ' MP/s':>14}" for p in paths)
        + "   srbench PSNR/SSIM"
    )
    for row in report["cells"]:
        line = f"{row['dataset'] + ' x' + str(row['scale']):<13}{row['megapixels']:>6.2f}"
        line += "".join(f"{row[p + '_s']:>11.2f}" for p in paths)
        line += "".join(f"{row['megapixels'] / row[p + '_s']:>14.2f}" for p in paths)
        print(f"{line}   {row['srbench_psnr']:.4f}/{row['srbench_ssim']:.4f}")
    print("(srbench per cell: in-process run() of that cell alone, decoding included, after an")
    print(" untimed run that pays the one-time imports; the whole process is timed below)")
    print("\nseconds per HR megapixel, all scales, per set:")
    for name, info in report["sets"].items():
        mark = "  (SYNTHETIC images)" if info["synthetic"] else ""
        per = "  ".join(f"{k} {v:.3f}" for k, v in info["s_per_mp"].items())
        print(f"  {name:<9}{info['hr_megapixels']:>7.2f} MP   {per}{mark}")
    runs = ", ".join(f"{t:.2f}" for t in report["srbench_cold_runs_s"])
    print(
        f"\nsrbench run, whole process (imports, decoding, store), nothing cached: "
        f"{report['srbench_s']:.2f} s (median of {runs}); LR images and FLOP counts cached: "
        f"{report['srbench_warm_s']:.2f} s; importing what it imports (torch included) and "
        f"starting numba, alone: {report['srbench_process_start_s']:.2f} s"
    )
    cpu, by_cpu = report["cpu_s"], report["ratios_cpu"]
    for name, label in (("basicsr", "BasicSR path"), ("pyiqa", "pyiqa metrics")):
        if report[f"{name}_s"] is not None:
            print(
                f"{label}: {report[f'{name}_s']:.2f} s = {ratios[f'{name}_over_srbench']:.1f}x "
                f"srbench's wall time; CPU {cpu[name]:.2f} s = "
                f"{by_cpu[f'{name}_over_srbench']:.1f}x srbench's CPU ({cpu['srbench_run']:.2f} s)"
            )
    print(
        f"decode-once floor: {report['decode_s']:.2f} s with srbench's decoder; srbench = "
        f"{ratios['srbench_over_decode']:.1f}x the floor"
    )
    for name, seconds in report["reference_decode_s"].items():
        print(
            f"  with {name}'s decoder instead: {seconds:.2f} s; srbench = "
            f"{ratios[f'srbench_over_decode_{name}']:.1f}x that floor"
        )
    print(
        f"arithmetic floor: {gmac['float64']:.2f} GMAC (resampling, Y) at "
        f"{rate['float64']:.1f} GMAC/s (float64 matmul peak here) + {gmac['float32']:.2f} "
        f"GMAC (SSIM) at {rate['float32']:.1f} GMAC/s (float32) = "
        f"{report['arithmetic_floor_s']:.2f} s; srbench = "
        f"{ratios['srbench_over_arithmetic_floor']:.1f}x the floor"
    )
    work = report["work_cpu_s"]
    cores = report["machine"]["cores"]
    print(
        "work floor: srbench's own work on one core, "
        + " + ".join(f"{k} {v:.2f}" for k, v in work.items())
        + f" = {sum(work.values()):.2f} s of CPU; no schedule on {cores} cores beats "
        f"{report['work_floor_s']:.2f} s; srbench = {ratios['srbench_over_work_floor']:.2f}x it"
    )
    if report["basicsr_s"] is not None:
        print(
            f"  BasicSR / work floor = {ratios['basicsr_over_work_floor']:.1f}x: the most these "
            "steps could show here, however they were scheduled"
        )


if __name__ == "__main__":
    main()
