"""Write SYNTHETIC stand-ins for B100 and Urban100 (same image count and sizes) for timing.

Usage: python benchmarks/synthetic_sets.py DIR [--sets B100,Urban100]

B100 and Urban100 are not available on the development machine. For measurements that
depend only on pixel counts (seconds per megapixel, peak memory against dataset length),
this writes 100 photo-like PNGs per set, mosaics of native-resolution 256x256 crops of the
colour photos scikit-image ships, plus mild noise (no resizing: upscaled crops are so smooth
that bicubic reaches about 43 dB at x2, where other tools' rounding conventions show).
B100 at 481x321 and 321x481, Urban100 at 1024 px wide with heights 560-1024 (0.80 Mpixel
on average). Each set folder gets a `SYNTHETIC` file saying so; `compare_anchors.py` labels
such sets. Their PSNR/SSIM mean nothing and are never compared with published numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

SOURCES = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png")
URBAN_HEIGHTS = (768, 680, 1024, 560, 840, 768, 1024, 680)
MARKER = "SYNTHETIC"
TILE = 256  # native-resolution tiles: detail like real photos, not upscaled smoothness


def sizes(name: str) -> list[tuple[int, int]]:
    """(H, W) of the 100 images of a synthetic B100 or Urban100."""
    if name == "B100":
        return [(321, 481) if k % 5 < 3 else (481, 321) for k in range(100)]
    if name == "Urban100":
        return [(URBAN_HEIGHTS[k % len(URBAN_HEIGHTS)], 1024) for k in range(100)]
    raise SystemExit(f"no synthetic recipe for {name!r}; use B100 or Urban100")


def write_set(root: Path, name: str, seed: int = 0) -> Path:
    """Write `root/name/img_XXX.png` and the SYNTHETIC marker; returns the folder."""
    import skimage

    photos = [
        np.asarray(Image.open(Path(skimage.__file__).parent / "data" / f).convert("RGB"))
        for f in SOURCES
    ]
    rng = np.random.default_rng(seed)
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for k, (h, w) in enumerate(sizes(name)):
        pixels = np.empty((h, w, 3), dtype=np.float64)
        for y in range(0, h, TILE):
            for x in range(0, w, TILE):
                th, tw = min(TILE, h - y), min(TILE, w - x)
                photo = photos[int(rng.integers(len(photos)))]
                y0 = int(rng.integers(0, photo.shape[0] - th + 1))
                x0 = int(rng.integers(0, photo.shape[1] - tw + 1))
                pixels[y : y + th, x : x + tw] = photo[y0 : y0 + th, x0 : x0 + tw]
        pixels += rng.normal(0, 2.0, pixels.shape)
        image = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))
        image.save(folder / f"img_{k + 1:03d}.png")
    (folder / MARKER).write_text(
        f"Synthetic stand-in for {name} written by benchmarks/synthetic_sets.py (seed {seed}); "
        "for timing only.\n"
    )
    return folder


def main() -> None:
    """Write the requested synthetic sets under DIR."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--sets", default="B100,Urban100")
    args = parser.parse_args()
    for name in args.sets.split(","):
        print(write_set(args.root, name))


if __name__ == "__main__":
    main()
