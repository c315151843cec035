"""Training throughput (patches/s) per model preset, and the wall time of `ablate --preset ci`.

Usage: python benchmarks/train.py [--data-root DIR] [--steps 10] [--models drn-gs,spnet]
       [--no-ablate]

Throughput runs `srbench.train.loop.train` (patch sampling, forward, loss, backward, Adam)
after a warm-up run of the same shapes, with no validation and one checkpoint at the end.
The ablation wall time runs the `srbench ablate --preset ci` command as a user would, in
a temporary folder, once per model. Nothing here is asserted: it is a measurement.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

from srbench.data.sets import resolve_data_root
from srbench.store.sqlite import cpu_name
from srbench.train.data import resolve_train_data
from srbench.train.loop import TrainConfig, train

# (model, options, scale, loss, batch, HR patch); the first rows are the CI preset's shapes
CASES = [
    ("drn-gs", {"preset": "tiny"}, 4, "gs+dual", 16, 48),
    ("spnet", {}, 4, "image+boundary+residual+l1", 16, 48),
    ("drn-gs", {"preset": "tiny"}, 2, "gs+dual", 16, 96),
    ("drn-gs", {"preset": "tiny"}, 4, "gs+dual", 16, 96),
    ("spnet", {}, 4, "image+boundary+residual+l1", 16, 96),
    ("drn-gs", {"preset": "s"}, 4, "gs+dual", 16, 96),
]


def throughput(case: tuple, data: object, steps: int, work: Path) -> float:
    """Patches per second of one training case, after a warm-up with the same shapes."""
    model, options, scale, loss, batch, patch = case
    base = dict(model=model, scale=scale, data=data, loss=loss, model_options=options)
    base |= dict(batch_size=batch, patch_size=patch, val_images=0, cache_dir=work / "cache")
    tag = f"{model}-{'-'.join(map(str, options.values()))}-x{scale}-p{patch}"
    train(TrainConfig(out=work / f"{tag}-warm", steps=2, checkpoint_every=2, **base))
    result = train(TrainConfig(out=work / tag, steps=steps, checkpoint_every=steps, **base))
    return steps * batch / result.seconds


def main() -> None:
    """Print throughput per case and, unless --no-ablate, the CI ablation wall times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--models", default="drn-gs,spnet")
    parser.add_argument("--no-ablate", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    root = resolve_data_root(args.data_root)
    data = resolve_train_data(None, root)
    wanted = args.models.split(",")
    print(
        f"CPU {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}; "
        f"data {data if isinstance(data, Path) else 'embedded samples'}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(
            f"{'model':<8} {'options':<18} {'scale':>5} {'batch':>5} {'patch':>5} {'patches/s':>10}"
        )
        for case in CASES:
            if case[0] not in wanted:
                continue
            steps = max(2, args.steps // 5) if case[1].get("preset") == "s" else args.steps
            rate = throughput(case, data, steps, work)
            model, options, scale, _, batch, patch = case
            print(f"{model:<8} {options!s:<18} {scale:>5} {batch:>5} {patch:>5} {rate:>10.1f}")
        if args.no_ablate:
            return
        for model in wanted:
            command = ["ablate", "--model", model, "--preset", "ci"]
            if root is not None:
                command += ["--data-root", str(root)]
            out = ["--out", str(work / f"ablate-{model}")]
            began = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "srbench", "-q", *command, *out],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            seconds = time.perf_counter() - began
            print(f"srbench {' '.join(command)}: {seconds:.0f} s wall time")


if __name__ == "__main__":
    main()
