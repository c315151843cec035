"""Peak memory of `srbench run` against the number of images: it should not grow.

Usage:
  python benchmarks/peak_memory.py --data-root DIR [--dataset Urban100] [--counts 25,50,100]
      [--models bicubic] [--scales 2,3,4] [--json PATH]

Runs the whole table as a separate `srbench run` process on the first N images of the
dataset for each N, with an empty LR cache, and reports each process's peak resident set
size (`ru_maxrss` of the child). The loader keeps at most 2 x workers + 1 images in
flight and the scorer at most 2 x workers cells, so the peak depends on the largest
images, not on how many there are.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from srbench.registry import datasets as dataset_registry


def measure(root: Path, dataset: str, count: int, args: argparse.Namespace, work: Path) -> dict:
    """Peak RSS (MB) and wall time of one `srbench run` on the first `count` images."""
    spec = dataset_registry.get(dataset)
    subset = work / f"n{count}"
    (subset / spec.name).mkdir(parents=True)
    for ref in spec.images(root, 2)[:count]:
        (subset / spec.name / ref.path.name).symlink_to(ref.path.resolve())
    command = [sys.executable, "-m", "srbench", "-q", "run", "--models", args.models]
    command += ["--datasets", dataset, "--scales", args.scales, "--timing", "off"]
    command += ["--data-root", str(subset), "--out", str(work / f"out{count}")]
    script = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    env = {**os.environ, "SRBENCH_HOME": str(work / f"home{count}")}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, *command], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return {
        "images": count,
        "peak_rss_mb": int(done.stdout.split()[-1]) / 1024,
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    """Measure each count and print peak RSS per count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--dataset", default="Urban100")
    parser.add_argument("--counts", default="25,50,100")
    parser.add_argument("--models", default="bicubic")
    parser.add_argument("--scales", default="2,3,4")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    folder = dataset_registry.get(args.dataset).locate(args.data_root, 2).folder
    report = {
        "dataset": args.dataset,
        "synthetic": (folder / "SYNTHETIC").exists(),
        "models": args.models,
        "scales": args.scales,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "load_average_before": os.getloadavg(),
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for count in map(int, args.counts.split(",")):
            row = measure(args.data_root, args.dataset, count, args, Path(tmp))
            report["runs"].append(row)
            print(
                f"{args.dataset}{' (SYNTHETIC)' if report['synthetic'] else ''}, "
                f"{count} images: peak RSS {row['peak_rss_mb']:.0f} MB, {row['seconds']:.1f} s"
            )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
