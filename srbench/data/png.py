"""Decodes the plain PNGs benchmark sets are made of in half libpng's time, to the same pixels.

libpng (through `imagecodecs`) spends three quarters of its time inflating with zlib and
the rest unfiltering rows one pixel after another. Here the IDAT chunks (their CRCs
checked) are inflated by libdeflate (`imagecodecs.deflate_decode`, 2.2-2.6x zlib's speed,
the stream's Adler-32 checked) into a buffer of exactly the image's size, and compiled
loops undo the row filters 8 RGB rows at a time (`srbench.data.unfilter`). The 218 RGB
images of the four test sets take 1.3-1.5 s of one core, against 3.0-3.2 s for libpng and
the copy to (C, H, W) (2026-12-05, 2-core Xeon VM).

Only a non-interlaced 8-bit gray or RGB file without transparency or animation, whose
chunks are all well formed (critical ones known, their CRCs right, IDATs consecutive, an
IEND at the end) and whose rows inflate to exactly the image's size with filter types 0-4,
is decoded here. For anything else `decode` returns None and the caller decodes the file
as before, so what an unusual or broken file gives (pixels or error) does not change.
"""

from __future__ import annotations

import imagecodecs
import numpy as np

from srbench.data import unfilter

__all__ = ["decode", "plain_shape", "prepare"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CRITICAL = (b"IHDR", b"PLTE", b"IDAT", b"IEND")
_LIBDEFLATE = imagecodecs.DEFLATE.available  # False in builds without it: libpng decodes


def plain_shape(blob: bytes, max_pixels: int | None = None) -> tuple[int, ...] | None:
    """(H, W) or (H, W, 3) if `blob` is a non-interlaced 8-bit gray or RGB PNG with no tRNS
    or acTL chunk (both must precede the first IDAT) and at most `max_pixels` pixels."""
    if len(blob) < 33 or not blob.startswith(_SIGNATURE) or blob[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(blob[16:20], "big"), int.from_bytes(blob[20:24], "big")
    depth, colour, interlace = blob[24], blob[25], blob[28]
    if depth != 8 or colour not in (0, 2) or interlace != 0:
        return None
    if max_pixels is not None and width * height > max_pixels:
        return None
    pos = 33
    while pos + 8 <= len(blob):
        kind = blob[pos + 4 : pos + 8]
        if kind == b"IDAT":
            return (height, width) if colour == 0 else (height, width, 3)
        if kind in (b"tRNS", b"acTL"):
            return None
        pos += 12 + int.from_bytes(blob[pos : pos + 4], "big")
    return None


def decode(blob: bytes, shape: tuple[int, ...]) -> np.ndarray | None:
    """The uint8 (C, H, W) pixels of a PNG that `plain_shape` gave `shape`, or None when it
    is not decoded here (see the module docstring)."""
    stream = _image_stream(blob) if _LIBDEFLATE else None
    if stream is None:
        return None
    height, width = shape[:2]
    channels = 1 if len(shape) == 2 else 3
    size = height * (1 + channels * width)
    raw = np.empty(size + 4, np.uint8)  # the loop reads whole 4-byte pixels, one byte past
    try:
        got = imagecodecs.deflate_decode(stream, out=raw[:size])
    except imagecodecs.DeflateError:
        return None
    if len(got) != size or raw[: size : size // height].max() > 4:  # filter types are 0-4
        return None
    if channels == 1:
        out = np.empty((1, height, width), np.uint8)
        unfilter.gray(raw, height, width, out.reshape(-1))
        return out
    rgbx = np.empty(height * width * 4, np.uint8)
    unfilter.rgb(raw, height, width, rgbx)
    out = np.empty((3, height, width), np.uint8)
    unfilter.planes(rgbx.reshape(height, width, 4), out)
    return out


def prepare() -> None:
    """Load the compiled unfiltering loops now, in the calling thread, so that no decode
    pays numba's start (`srbench.data.unfilter.prepare`)."""
    unfilter.prepare()


def _image_stream(blob: bytes) -> bytes | None:
    """The zlib stream of the IDAT chunks, or None unless every chunk is well formed."""
    parts: list[bytes] = []
    pos, after_idat = 8, False
    while pos + 12 <= len(blob):
        length = int.from_bytes(blob[pos : pos + 4], "big")
        end = pos + 8 + length
        if end + 4 > len(blob):
            return None
        kind = blob[pos + 4 : pos + 8]
        if not kind[0] & 0x20:  # critical: libpng checks its CRC and must know it
            crc = int.from_bytes(blob[end : end + 4], "big")
            if kind not in _CRITICAL or imagecodecs.deflate_crc32(blob[pos + 4 : end]) != crc:
                return None
        if kind == b"IEND":
            return b"".join(parts) if parts else None
        if kind == b"IDAT":
            if after_idat:
                return None
            parts.append(blob[pos + 8 : end])
        elif parts:
            after_idat = True
        pos = end + 4
    return None
