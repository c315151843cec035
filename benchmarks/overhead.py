"""Overhead of the results store and of timing on the bicubic table (issue 7's measurement).

Usage: python benchmarks/overhead.py [--data-root DIR] [--datasets Set5,Set14] [--repeats 3]

Times, on the same images in one process: (a) the protocol and metrics alone in a plain
loop (decode, modcrop, LR, bicubic, PSNR/SSIM; nothing stored), (b) `srbench run` with the
store and `--timing off`, (c) the same with `--timing quick`; every runner repeat starts
from an empty LR cache (a fresh SRBENCH_HOME), so it resizes as the plain loop does. Prints
the best of N for each and the overheads: store (b/a - 1), timing (c/b - 1), both
(c/a - 1). The runner's prefetching threads can make (b) faster than (a). Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from srbench.data.io import read_image
from srbench.data.sets import resolve_data_root
from srbench.engine.run import RunConfig, run
from srbench.metrics.psnr import psnr
from srbench.metrics.ssim import ssim
from srbench.models.adapter import upscale
from srbench.models.bicubic import Bicubic
from srbench.protocol import PAPER
from srbench.registry import datasets


def plain_loop(root: Path | None, names: tuple[str, ...], scales: tuple[int, ...]) -> None:
    """The protocol's arithmetic with nothing around it: the floor for the runner."""
    for name in names:
        for ref in datasets.get(name).images(root, scales[0]):
            hr_full = read_image(ref.path)[None]
            for scale in scales:
                hr = PAPER.crop_hr(hr_full, scale)
                lr = PAPER.make_lr(hr, scale)
                sr = upscale(Bicubic(scale=scale), lr, scale)
                view = PAPER.prepare(sr, hr, scale).view("y255")
                psnr(*view), ssim(*view)


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """Smallest wall time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Measure the three paths and print the overheads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--datasets", default="Set5,Set14")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = resolve_data_root(args.data_root)
    names = tuple(args.datasets.lower().split(","))
    scales = (2, 3, 4)

    def through_runner(timing: str) -> Callable[[], object]:
        def go() -> None:
            with tempfile.TemporaryDirectory() as out:
                os.environ["SRBENCH_HOME"] = str(Path(out) / "home")  # an empty LR cache
                run(
                    RunConfig(
                        models=("bicubic",),
                        datasets=names,
                        scales=scales,
                        out=Path(out),
                        data_root=root,
                        timing=timing,
                    )
                )  # type: ignore[arg-type]

        return go

    plain_loop(root, names, scales)  # warm the resize weight caches once for every path
    plain = best_of(args.repeats, lambda: plain_loop(root, names, scales))
    stored = best_of(args.repeats, through_runner("off"))
    timed = best_of(args.repeats, through_runner("quick"))
    print(
        f"{args.datasets} x{','.join(map(str, scales))}, best of {args.repeats}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(f"plain protocol loop            {plain:7.2f} s")
    print(f"srbench run, store, timing off {stored:7.2f} s   store: {stored / plain - 1:+.1%}")
    print(
        f"srbench run, store, timing on  {timed:7.2f} s   timing: {timed / stored - 1:+.1%}, "
        f"store and timing: {timed / plain - 1:+.1%}"
    )


if __name__ == "__main__":
    sys.exit(main())
