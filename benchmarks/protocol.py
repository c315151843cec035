"""Time the bicubic paper-protocol table: srbench's runner vs a NumPy reference vs decoding.

Usage: python benchmarks/protocol.py [--data-root DIR] [--datasets Set5,Set14] [--scales 2,3,4]

Prints the wall time of each path, their ratio, and the agreement of the dataset means.
Nothing here is asserted: it is a measurement.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from numpy_reference import bicubic_scores

from srbench.cli.run import default_datasets
from srbench.data.io import read_image
from srbench.data.sets import resolve_data_root
from srbench.engine.run import RunConfig, run
from srbench.registry import datasets as dataset_registry
from srbench.report.tables import summary_table
from srbench.store.sqlite import Store


def main() -> None:
    """Run the three paths on the same images and print times, ratios and agreement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--datasets", default=None)
    parser.add_argument("--scales", default="2,3,4")
    args = parser.parse_args()
    root = resolve_data_root(args.data_root)
    names = tuple(args.datasets.split(",")) if args.datasets else default_datasets(root)
    scales = tuple(int(s) for s in args.scales.split(","))
    specs = [dataset_registry.get(n) for n in names]
    refs = [(spec.name, ref) for spec in specs for ref in spec.images(root, scales[0])]
    print(
        f"images: {len(refs)} in {', '.join(s.name for s in specs)}; scales {scales}; "
        f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}"
    )

    start = time.perf_counter()
    decoded = [(name, ref.image_id, read_image(ref.path)) for name, ref in refs]
    decode_s = time.perf_counter() - start
    megapixels = sum(img.shape[-1] * img.shape[-2] for _, _, img in decoded) / 1e6

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run(
            RunConfig(
                models=("bicubic",), datasets=names, scales=scales, out=Path(out), data_root=root
            )
        )
        srbench_s = time.perf_counter() - start
        store = Store(Path(out), create=False)
        table = summary_table(store.results())
        store.close()

    reference: dict[tuple[str, int], list[tuple[float, float]]] = {}
    start = time.perf_counter()
    for name, _, img in decoded:
        hr = img.permute(1, 2, 0).numpy()
        hr = hr[..., 0] if hr.shape[-1] == 1 else hr
        for scale in scales:
            reference.setdefault((name, scale), []).append(bicubic_scores(hr, scale))
    numpy_s = time.perf_counter() - start

    print(
        f"\n{'dataset':<10}{'scale':>6}{'srbench PSNR/SSIM':>22}{'NumPy PSNR/SSIM':>22}"
        f"{'|dPSNR|':>10}{'|dSSIM|':>10}"
    )
    for _, row in table.iterrows():
        ref = np.mean(reference[(row["dataset"], row["scale"])], axis=0)
        print(
            f"{row['dataset']:<10}{row['scale']:>6}{row['psnr']:>13.4f}/{row['ssim']:.4f}"
            f"{ref[0]:>13.4f}/{ref[1]:.4f}{abs(row['psnr'] - ref[0]):>10.1e}"
            f"{abs(row['ssim'] - ref[1]):>10.1e}"
        )
    print(f"\n{megapixels:.2f} HR megapixels, {len(scales)} scales")
    print(f"decode only          {decode_s:8.2f} s")
    print(f"srbench run (store)  {srbench_s:8.2f} s   {srbench_s / decode_s:6.1f}x decode")
    print(
        f"NumPy reference      {numpy_s:8.2f} s   {numpy_s / srbench_s:6.1f}x slower than srbench"
    )


if __name__ == "__main__":
    main()
