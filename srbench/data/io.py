"""Decode image files to uint8 (C, H, W) arrays with defined conversions (SPEC §1 step 1).

Every Pillow mode an SR test image can plausibly come in maps to 1 or 3 channels:

- ``L`` (8-bit gray) stays 1-channel; ``RGB`` is returned untouched.
- ``LA`` → 1-channel, ``RGBA`` → RGB: the alpha channel is dropped, not composited.
  SR test sets are opaque, so alpha carries no image content there.
- ``P`` (palette) → RGB through the palette, or 1-channel when every palette entry is
  gray (R = G = B); palette transparency is ignored like alpha.
- ``CMYK`` → RGB by Pillow's conversion, R = (255 - C)(255 - K) / 255 rounded (no ICC
  colour management).
- 16-bit gray (``I;16``, ``I;16B``, ``I`` with values in 0..65535) → 8-bit by
  round(v / 257), the mapping that sends 65535 to 255 and preserves mid-gray exactly.
- 16-bit colour PNG (and 16-bit gray+alpha): Pillow has no 16-bit colour mode and keeps
  the high byte of each sample (v >> 8), which differs from round(v / 257) by at most
  one level; srbench accepts that rather than ship its own PNG decoder.
- ``1`` (bilevel) → 1-channel 0/255.
- A 3-channel file whose channels are all equal stays 3-channel: that is what the file
  says, and the protocol then scores it as RGB (its Y differs from the raw gray values).
  ``srbench.data.manifest.verify`` flags such copies of images that should be gray.

Multi-frame files (animated GIF, multipage TIFF) and float images are refused.
EXIF orientation is *not* applied and ICC profiles are ignored: benchmark images are
scored as stored, and every published table was computed that way.

The files benchmarks are made of (8-bit RGB or gray PNGs, not interlaced, with no
transparency or animation chunk) are decoded by `srbench.data.png`: libdeflate inflates
them and compiled loops undo the row filters, in about half the CPU of libpng (which itself
takes 0.6x Pillow's) on the 219 images of the four test sets, with the same pixels (PNG is
lossless; tests compare all three). A file it does not take (an unusual chunk, a bad CRC
or stream) goes to libpng through `imagecodecs`, as before, and any other file, and any
such file libpng will not decode, goes through Pillow as above, so errors and conversions
are Pillow's. The one difference: libpng and `srbench.data.png` skip an ancillary chunk
with a bad CRC where Pillow refuses the file; the pixels are intact either way. The file is
read once and every decoder takes its bytes. An environment installed before `imagecodecs`
became a dependency decodes everything with Pillow (same pixels, slower).

`decode_image` gives a NumPy array and needs no torch, so that `srbench run` can decode
while torch is still being imported (`srbench.data.feed`); `read_image` wraps it in a tensor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, UnidentifiedImageError

from srbench.errors import DataError

try:
    import imagecodecs

    from srbench.data import png
except ImportError:  # installed before it was a dependency: Pillow reads every file
    imagecodecs = png = None

if TYPE_CHECKING:
    import torch

__all__ = ["decode_image", "read_image", "sha256_file"]

_SAVE_HINT = "re-save it as an 8-bit RGB or grayscale PNG"


def read_image(path: Path) -> torch.Tensor:
    """Decode `path` to a uint8 (C, H, W) tensor, C in {1, 3}, with the module's conversions."""
    import torch  # here, not above: decoding alone must not wait for torch's import

    return torch.from_numpy(decode_image(path))


def decode_image(path: Path, blob: bytes | None = None) -> np.ndarray:
    """Decode `path` (from `blob`, its bytes, when already read) to a uint8 (C, H, W) array,
    C in {1, 3}, with the module's conversions."""
    path = Path(path)
    if blob is None:
        with _decode_errors(path):
            blob = path.read_bytes()
    pixels = _plain_png(blob)
    if pixels is not None:
        return pixels
    with _decode_errors(path):
        return _channels_first(_with_pillow(path, blob))


def _channels_first(array: np.ndarray) -> np.ndarray:
    """A uint8 (H, W) or (H, W, C) array as a new (C, H, W) one."""
    if array.ndim == 2:
        array = array[:, :, None]
    return array.transpose(2, 0, 1).copy()


def _plain_png(blob: bytes) -> np.ndarray | None:
    """The (C, H, W) pixels of an 8-bit gray or RGB PNG decoded by `srbench.data.png` or
    libpng, or None for Pillow to read."""
    if imagecodecs is None:
        return None
    shape = png.plain_shape(blob, Image.MAX_IMAGE_PIXELS)
    if shape is None:
        return None
    pixels = png.decode(blob, shape)
    if pixels is not None:
        return pixels
    try:
        array = imagecodecs.png_decode(blob)
    except Exception:  # libpng's verdict varies by fault (some are not PngError): Pillow's counts
        return None
    if array.shape != shape or array.dtype != np.uint8:
        return None
    return _channels_first(array)


def _with_pillow(path: Path, blob: bytes) -> np.ndarray:
    """Decode the bytes of any file Pillow reads, with the module's conversions."""
    with Image.open(BytesIO(blob)) as img:
        frames = getattr(img, "n_frames", 1)
        if frames > 1:
            raise DataError(
                f"cannot read {path}: it has {frames} frames; srbench reads single images",
                hint="export the frame you want as a PNG",
            )
        # Pillow decodes 16-bit gray+alpha PNGs as RGBA; the tile's raw mode still says LA.
        png_gray_alpha = (
            img.format == "PNG" and bool(img.tile) and str(img.tile[0][3]).startswith("LA")
        )
        img.load()  # Pillow decodes lazily: force the full decode so truncation shows here
        return _to_array(img, path, png_gray_alpha)


@contextmanager
def _decode_errors(path: Path) -> Iterator[None]:
    """Turn what reading or decoding `path` raises into a DataError that names the file."""
    try:
        yield
    except FileNotFoundError as exc:
        raise DataError(f"image file {path} does not exist", hint="check the path") from exc
    except UnidentifiedImageError as exc:
        raise DataError(
            f"cannot read {path}: not an image file Pillow recognises", hint=_SAVE_HINT
        ) from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(
            f"cannot decode {path}: {exc}",
            hint="the file looks truncated or corrupt: copy or download it again",
        ) from exc


def _to_array(img: Image.Image, path: Path, png_gray_alpha: bool) -> np.ndarray:
    """Apply the documented conversion for `img.mode`; returns uint8 (H, W) or (H, W, 3)."""
    mode = img.mode
    if mode in ("L", "RGB"):
        return np.asarray(img)
    if mode == "LA" or (mode == "RGBA" and png_gray_alpha):
        return np.asarray(img)[:, :, 0]
    if mode == "RGBA":
        return np.asarray(img)[:, :, :3]
    if mode in ("P", "PA"):
        rgb = np.asarray(img.convert("RGB"))
        palette = np.asarray(img.getpalette("RGB") or [], dtype=np.uint8).reshape(-1, 3)
        all_gray = bool((palette == palette[:, :1]).all())
        return rgb[:, :, 0] if all_gray else rgb
    if mode in ("CMYK", "YCbCr"):
        return np.asarray(img.convert("RGB"))
    if mode == "1":
        return np.asarray(img).astype(np.uint8) * 255
    if mode.startswith("I;16") or mode == "I":
        wide = np.asarray(img).astype(np.int64)
        if wide.size and (wide.min() < 0 or wide.max() > 65535):
            raise DataError(
                f"cannot read {path}: 32-bit integer pixels outside 0..65535", hint=_SAVE_HINT
            )
        # round(v / 257) in integers; v / 257 is never exactly k + 0.5, so no tie rule is needed
        return ((wide + 128) // 257).astype(np.uint8)
    raise DataError(f"cannot read {path}: unsupported image mode {mode!r}", hint=_SAVE_HINT)


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of the file's bytes, read in chunks (manifests, cache checks)."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise DataError(
            f"cannot hash {path}: {exc.strerror or exc}", hint="check the path"
        ) from exc
    return digest.hexdigest()
