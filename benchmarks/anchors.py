"""The paths `compare_anchors.py` times: decoding, BasicSR, pyiqa, and the arithmetic floor.

Each path scores the bicubic paper-protocol table the way its users do; none imports
anything from srbench's protocol (only `read_image`, the decoder every path shares here).
basicsr and pyiqa are optional (`pip install srbench[bench]`); `missing()` names the absent.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

Values = dict[tuple[str, int, str], tuple[float, float]]  # (dataset, scale, image) -> psnr, ssim


@dataclass
class Image:
    """One decoded HR image: (H, W, 3) RGB or (H, W) gray uint8."""

    dataset: str
    image_id: str
    pixels: np.ndarray


@dataclass
class PathResult:
    """Wall and CPU seconds per (dataset, scale) cell and the per-image scores of one path."""

    seconds: dict[tuple[str, int], float] = field(default_factory=dict)
    cpu: dict[tuple[str, int], float] = field(default_factory=dict)
    values: Values = field(default_factory=dict)

    def add(self, cell: tuple[str, int], start: tuple[float, float]) -> None:
        """Add the wall and CPU time since `start` (a `clocks()` reading) to `cell`."""
        wall, cpu = clocks()
        self.seconds[cell] = self.seconds.get(cell, 0.0) + wall - start[0]
        self.cpu[cell] = self.cpu.get(cell, 0.0) + cpu - start[1]


def clocks() -> tuple[float, float]:
    """(wall, this process's CPU time over all its threads) in seconds."""
    return time.perf_counter(), time.process_time()


def missing() -> list[str]:
    """The optional benchmark packages that are not installed."""
    return [name for name in ("basicsr", "pyiqa") if importlib.util.find_spec(name) is None]


def decode(paths: list[tuple[str, str, Path]]) -> tuple[list[Image], PathResult]:
    """Decode every image once (the floor); times per dataset, as cells (dataset, 0).

    The compiled decoder is loaded first, untimed: numba's start is a one-time cost of the
    process, like the imports, and the work floor counts it in its start."""
    from srbench.data.io import png, read_image

    if png is not None:
        png.prepare()
    images, result = [], PathResult()
    for dataset, image_id, path in paths:
        start = clocks()
        pixels = read_image(path).permute(1, 2, 0).numpy()
        result.add((dataset, 0), start)
        images.append(Image(dataset, image_id, pixels[..., 0] if pixels.shape[-1] == 1 else pixels))
    return images, result


def _pillow() -> Callable[[Path], np.ndarray]:
    from PIL import Image as PilImage

    def load(path: Path) -> np.ndarray:
        with PilImage.open(path) as img:
            return np.asarray(img if img.mode in ("RGB", "L") else img.convert("RGB"))

    return load


def _opencv() -> Callable[[Path], np.ndarray]:
    import cv2

    cv2.setNumThreads(1)  # one decoder thread, as srbench's and Pillow's

    def load(path: Path) -> np.ndarray:
        pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        return pixels[..., ::-1] if pixels.ndim == 3 else pixels  # BGR to RGB: a view

    return load


# name: (the module it needs, a setup that returns the loader)
REFERENCE_DECODERS = {"pillow": ("PIL", _pillow), "opencv": ("cv2", _opencv)}


def reference_decode(images: list[Image], paths: list[tuple[str, str, Path]]) -> dict:
    """Decode every image once with each installed reference decoder, the ones the anchors'
    users load images with (Pillow for pyiqa, OpenCV for BasicSR): {name: PathResult}.

    Each must give srbench's pixels, so that every floor is the same work."""
    results = {}
    for name, (module, setup) in REFERENCE_DECODERS.items():
        if importlib.util.find_spec(module) is None:
            print(f"skipping the {name} decode floor: {module} is not installed")
            continue
        load = setup()
        load(paths[0][2])  # the library's one-time start, untimed as for srbench's decoder
        result = PathResult()
        for img, (dataset, _, path) in zip(images, paths, strict=True):
            start = clocks()
            pixels = load(path)
            result.add((dataset, 0), start)
            if not np.array_equal(pixels, img.pixels):
                raise SystemExit(f"{name} decodes {path} to other pixels than srbench's decoder")
        results[name] = result
    return results


def _modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """MATLAB's uint8(): clamp, round half away from zero (values here are >= 0)."""
    return np.floor(np.clip(img, 0, 255) + 0.5).astype(np.uint8)


def basicsr_path(images: list[Image], scales: tuple[int, ...]) -> tuple[PathResult, dict]:
    """BasicSR 1.4.2: its MATLAB-port `imresize` down and up, uint8, its PSNR/SSIM on Y.

    Returns the timings and scores, and the SR images (for pyiqa, keyed like `Values`).
    """
    import torchvision.transforms.functional as tf

    # basicsr 1.4.2 imports a module recent torchvision removed; alias it here only.
    sys.modules.setdefault("torchvision.transforms.functional_tensor", tf)
    from basicsr.metrics import calculate_psnr, calculate_ssim
    from basicsr.utils.matlab_functions import imresize

    result, srs = PathResult(), {}
    for scale in scales:
        for img in images:
            start = clocks()
            hr = _modcrop(img.pixels, scale)
            lr = _to_uint8(imresize(hr / 255.0, 1 / scale) * 255.0)
            sr = _to_uint8(imresize(lr / 255.0, scale) * 255.0)
            bgr_sr, bgr_hr = (sr[..., ::-1], hr[..., ::-1]) if sr.ndim == 3 else (sr, hr)
            psnr = calculate_psnr(bgr_sr, bgr_hr, crop_border=scale, test_y_channel=True)
            ssim = calculate_ssim(bgr_sr, bgr_hr, crop_border=scale, test_y_channel=True)
            result.add((img.dataset, scale), start)
            result.values[(img.dataset, scale, img.image_id)] = (float(psnr), float(ssim))
            srs[(img.dataset, scale, img.image_id)] = (sr, hr)
    return result, srs


def pyiqa_path(srs: dict, scales: tuple[int, ...]) -> PathResult:
    """pyiqa's `psnr` and `ssim` on the same SR images, conventions matched to the protocol."""
    import pyiqa

    metrics = {
        scale: (
            pyiqa.create_metric(
                "psnr", test_y_channel=True, color_space="ycbcr", crop_border=scale, device="cpu"
            ),
            pyiqa.create_metric(
                "ssim",
                test_y_channel=True,
                color_space="ycbcr",
                crop_border=scale,
                downsample=False,
                device="cpu",
            ),
        )
        for scale in scales
    }
    result = PathResult()
    for (dataset, scale, image_id), (sr, hr) in srs.items():
        start = clocks()
        x, y = _tensor01(sr), _tensor01(hr)
        psnr, ssim = (float(metric(x, y)) for metric in metrics[scale])
        result.add((dataset, scale), start)
        result.values[(dataset, scale, image_id)] = (psnr, ssim)
    return result


def _tensor01(img: np.ndarray) -> torch.Tensor:
    chw = img[None] if img.ndim == 2 else img.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(chw)).unsqueeze(0).double() / 255.0


def _taps(scale: float) -> int:
    """Taps per output of MATLAB's cubic kernel at `scale`, at least: 4, widened by 1/scale
    when shrinking (antialiasing)."""
    return round(4 / scale) if scale < 1 else 4


def arithmetic_macs(images: list[Image], scales: tuple[int, ...]) -> dict[str, float]:
    """Multiply-adds the bicubic table cannot avoid, by the dtype srbench computes them in:
    separable resampling down and up, MATLAB Y of SR and HR and PSNR's square in float64;
    SSIM as four separable 11-tap filtered maps in float32."""
    total = {"float64": 0.0, "float32": 0.0}
    for img in images:
        channels = 1 if img.pixels.ndim == 2 else 3
        for scale in scales:
            h, w = (n - n % scale for n in img.pixels.shape[:2])
            lh, lw = h // scale, w // scale
            down = _taps(1 / scale) * (lh * w + lh * lw) * channels
            up = _taps(scale) * (h * lw + h * w) * channels
            sh, sw = h - 2 * scale, w - 2 * scale
            luma = 2 * 3 * sh * sw if channels == 3 else 0
            total["float64"] += down + up + luma + sh * sw
            total["float32"] += 4 * 11 * ((sh - 10) * sw + (sh - 10) * (sw - 10))
    return total


def peak_gmacs(threads: int, dtype: torch.dtype = torch.float64) -> float:
    """Measured multiply-add rate of this machine: the best of a few large matmuls (GMAC/s)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.rand(1024, 1024, dtype=dtype)
        b = torch.rand(1024, 1024, dtype=dtype)
        torch.mm(a, b)
        best = math.inf
        for _ in range(5):
            start = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
        return 1024**3 / best / 1e9
    finally:
        torch.set_num_threads(previous)
