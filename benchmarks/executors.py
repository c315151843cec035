"""The same evaluation sweep on the `local` and `ray` executors; Ray's per-task overhead.

Usage: python benchmarks/executors.py [--data-root DIR] [--datasets Set5,Set14]
    [--models bicubic,srcnn] [--scales 2,3,4] [--ablation-steps 40] [--json PATH]

In one process and one run, on a fresh results store each time:
- the evaluation sweep with `local` in this process (the default, image-major pass),
  `local --processes 1` and `--processes 2`, and `ray` with 1 and with 2 one-CPU workers
  (a local Ray instance started with num_cpus=1, then 2; start-up timed separately);
- Ray's per-task overhead: 200 no-op tasks, wall time divided by 200;
- a small ablation sweep (drn-gs tiny, 2 variants x 2 seeds) on `local` and on `ray` with
  2 workers, whose per-job times project the speed-up of a sweep of J jobs on N nodes:
  makespan = ceil(J / N) x (job time + per-task overhead), as jobs are equal in size.
SRCNN needs its weights: with SRBENCH_WEIGHTS_ROOT set they are imported into a throwaway
SRBENCH_HOME; without, the sweep uses the other models. Every configuration must store the
same values as the in-process run, or the script stops before printing times.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import ray
import torch

from srbench.data.sets import resolve_data_root
from srbench.engine.run import RunConfig, run
from srbench.executors import ExecutorOptions, make_executor
from srbench.store.sqlite import Store, cpu_name
from srbench.train.ablate import AblationConfig, ablate
from srbench.train.data import resolve_train_data

KEY = ["model", "dataset", "image_id", "scale", "metric"]


def _noop(task: int, shared: None) -> int:
    return task


def _values(out: Path) -> pd.DataFrame:
    store = Store(out, create=False)
    try:
        rows = store.results()
    finally:
        store.close()
    return rows[[*KEY, "value"]].sort_values(KEY).reset_index(drop=True)


def _import_weights(models: list[str]) -> list[str]:
    """Import SRCNN's checkpoints when SRBENCH_WEIGHTS_ROOT has them; drop it otherwise."""
    root = os.environ.get("SRBENCH_WEIGHTS_ROOT")
    files = sorted(Path(root).glob("srcnn/*/x*.mat")) if root else []
    if "srcnn" in models and not files:
        print("SRBENCH_WEIGHTS_ROOT has no srcnn/*/x*.mat: the sweep runs without srcnn")
        return [m for m in models if m != "srcnn"]
    for file in files:
        subprocess.run(
            [sys.executable, "-m", "srbench", "-q", "weights", "import", str(file)],
            check=True,
            capture_output=True,
        )
    return models


def _sweep(config: RunConfig, executor_name: str | None, **options: object) -> float:
    began = time.perf_counter()
    if executor_name is None:
        summary = run(config)
    else:
        with make_executor(executor_name, ExecutorOptions(**options)) as executor:  # type: ignore[arg-type]
            summary = run(config, executor=executor)
    if not summary.ok:
        raise SystemExit(f"{executor_name}: {summary.failures[:3]}")
    return time.perf_counter() - began


def _ray_start(cpus: int) -> float:
    began = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level="error")
    return time.perf_counter() - began


def main() -> None:
    """Run every configuration, check they agree, print and optionally save the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--datasets", default="Set5,Set14")
    parser.add_argument("--models", default="bicubic,srcnn")
    parser.add_argument("--scales", default="2,3,4")
    parser.add_argument("--ablation-steps", type=int, default=40)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    root = resolve_data_root(args.data_root)
    work = Path(tempfile.mkdtemp(prefix="srbench-executors-"))
    os.environ["SRBENCH_HOME"] = str(work / "home")
    models = _import_weights(args.models.split(","))
    base = RunConfig(
        models=tuple(models),
        datasets=tuple(args.datasets.split(",")),
        scales=tuple(int(s) for s in args.scales.split(",")),
        data_root=root,
        out=work / "warm-up",
        timing="off",
    )
    _sweep(base, None)  # fills the LR cache and imports everything: no configuration pays it
    report: dict[str, object] = {
        "machine": {
            "cpu": cpu_name(),
            "cores": len(os.sched_getaffinity(0)),
            "torch_threads": torch.get_num_threads(),
            "ray": ray.__version__,
            "torch": torch.__version__,
            "load_average_before": os.getloadavg(),
        },
        "sweep": {"models": models, "datasets": base.datasets, "scales": base.scales},
    }
    walls: dict[str, float] = {}

    def sweep(label: str, name: str | None, **options: object) -> None:
        config = RunConfig(
            models=base.models,
            datasets=base.datasets,
            scales=base.scales,
            data_root=root,
            out=work / label,
            timing="off",
        )
        walls[label] = _sweep(config, name, **options)
        print(f"{label:28s} {walls[label]:8.2f} s", flush=True)

    sweep("local, in process", None)
    sweep("local, 1 process", "local", processes=1)
    sweep("local, 2 processes", "local", processes=2)
    starts = {}
    per_task = {}
    for cpus in (1, 2):
        starts[cpus] = _ray_start(cpus)
        sweep(f"ray, {cpus} worker(s)", "ray", cpus_per_task=1)
        with make_executor("ray", ExecutorOptions()) as executor:
            began = time.perf_counter()
            assert len(dict(executor.map(_noop, list(range(200)), None))) == 200
            per_task[cpus] = (time.perf_counter() - began) / 200
        ray.shutdown()
    reference = _values(work / "local, in process")
    for label in walls:
        if not _values(work / label).equals(reference):
            raise SystemExit(f"{label} stored other values than the in-process run: no times")
    report["evaluation_s"] = walls
    report["ray_start_s"] = starts
    report["ray_per_task_s"] = per_task
    report["ablation"] = ablation(work, root, args.ablation_steps, per_task[2])
    report["machine"]["load_average_after"] = os.getloadavg()  # type: ignore[index]
    print_report(report)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)


def ablation(work: Path, root: Path | None, steps: int, overhead: float) -> dict[str, object]:
    """A 4-job sweep on local and on 2 Ray workers, and the projection to N nodes."""
    data = resolve_train_data(None, root)

    def config(out: str) -> AblationConfig:
        return AblationConfig(
            models=("drn-gs",),
            variants={"drn-gs": {"l1": "l1", "gs+dual": "gs+dual"}},
            data=data,
            data_root=root,
            out=work / out,
            datasets=("set5",) if root else ("samples",),
            scales=(4,),
            seeds=(0, 1),
            model_options={"drn-gs": {"preset": "tiny"}},
            train={"steps": steps, "batch_size": 16, "patch_size": 48, "val_images": 0},
        )

    began = time.perf_counter()
    local = ablate(config("ablate-local"), echo=lambda _: None)
    local_s = time.perf_counter() - began
    _ray_start(2)
    began = time.perf_counter()
    with make_executor("ray", ExecutorOptions(cpus_per_task=1)) as executor:
        ablate(config("ablate-ray"), echo=lambda _: None, executor=executor)
    ray_s = time.perf_counter() - began
    ray.shutdown()
    job = local_s / len(local.runs)
    jobs = 18  # the `ci` preset with 3 seeds: 6 variants x 3 seeds
    projection = {
        n: jobs * job / (math.ceil(jobs / n) * (job + overhead)) for n in (1, 2, 4, 8, 18)
    }
    return {
        "jobs": len(local.runs),
        "steps": steps,
        "local_s": local_s,
        "ray_2_workers_s": ray_s,
        "job_s": job,
        "projected_speedup_18_jobs": projection,
    }


def print_report(report: dict) -> None:  # type: ignore[type-arg]
    """The measurements as a small table, with the ratios."""
    walls = report["evaluation_s"]
    base = walls["local, in process"]
    print(f"\nevaluation sweep: {report['sweep']}")
    for label, seconds in walls.items():
        print(f"  {label:28s} {seconds:8.2f} s   {seconds / base:5.2f}x the in-process run")
    print(f"  ray 1 -> 2 workers: {walls['ray, 1 worker(s)'] / walls['ray, 2 worker(s)']:.2f}x")
    for cpus, seconds in report["ray_start_s"].items():
        print(f"  ray start-up ({cpus} CPU): {seconds:.2f} s (not in the sweep times)")
    for cpus, seconds in report["ray_per_task_s"].items():
        print(f"  ray per-task overhead ({cpus} CPU): {seconds * 1e3:.2f} ms")
    abl = report["ablation"]
    print(
        f"\nablation: {abl['jobs']} jobs of {abl['steps']} steps: local {abl['local_s']:.1f} s, "
        f"ray on 2 workers {abl['ray_2_workers_s']:.1f} s "
        f"({abl['local_s'] / abl['ray_2_workers_s']:.2f}x); {abl['job_s']:.1f} s per job"
    )
    print("projected speed-up of an 18-job sweep on N nodes (equal jobs, one per node):")
    for n, speedup in abl["projected_speedup_18_jobs"].items():
        print(f"  N={n:2d}: {speedup:5.2f}x")


if __name__ == "__main__":
    main()
