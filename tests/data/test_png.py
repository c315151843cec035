"""The compiled PNG decoder against PNGs whose every row filter the test chooses."""

from __future__ import annotations

import itertools
import struct
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srbench.data import png
from srbench.data.io import decode_image
from srbench.errors import DataError


def _predictions(cur: np.ndarray, prev: np.ndarray, channels: int, kind: int) -> np.ndarray:
    """PNG's predictor `kind` for a row, from its own and the previous row's pixels."""
    pad = np.zeros(channels, np.int32)
    left, up_left = np.concatenate([pad, cur[:-channels]]), np.concatenate([pad, prev[:-channels]])
    if kind == 0:
        return np.zeros_like(cur)
    if kind == 1:
        return left
    if kind == 2:
        return prev
    if kind == 3:
        return (left + prev) // 2
    p = left + prev - up_left
    pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - up_left)
    return np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, up_left))


def _chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png(
    pixels: np.ndarray,
    kinds: list[int],
    *,
    level: int = 6,
    pieces: int = 1,
    rows: bytes | None = None,
    before_end: bytes = b"",
) -> bytes:
    """An 8-bit PNG of (H, W) or (H, W, 3) `pixels`, row y filtered with kinds[y]."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else 3
    flat = pixels.reshape(height, width * channels).astype(np.int32)
    if rows is None:
        parts, prev = [], np.zeros(width * channels, np.int32)
        for cur, kind in zip(flat, kinds, strict=True):
            residual = (cur - _predictions(cur, prev, channels, kind)) % 256
            parts.append(bytes([kind]) + residual.astype(np.uint8).tobytes())
            prev = cur
        rows = b"".join(parts)
    stream = zlib.compress(rows, level)
    cuts = np.linspace(0, len(stream), pieces + 1).astype(int)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + b"".join(_chunk(b"IDAT", stream[a:b]) for a, b in itertools.pairwise(cuts))
        + before_end
        + _chunk(b"IEND", b"")
    )


def _decoded(blob: bytes) -> np.ndarray | None:
    shape = png.plain_shape(blob)
    assert shape is not None
    return png.decode(blob, shape)


def _planar(pixels: np.ndarray) -> np.ndarray:
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


@settings(max_examples=150, deadline=None)
@given(
    height=st.integers(1, 70),  # past 2 groups of 32 gray rows, 8 groups of 8 RGB rows
    width=st.integers(1, 40),
    channels=st.sampled_from([1, 3]),
    level=st.integers(0, 9),
    pieces=st.integers(1, 3),
    data=st.data(),
)
def test_every_filter_sequence_decodes_to_the_pixels_libpng_gives(
    height: int, width: int, channels: int, level: int, pieces: int, data: st.DataObject
) -> None:
    seed = data.draw(st.integers(0, 2**32 - 1))
    kinds = data.draw(st.lists(st.integers(0, 4), min_size=height, max_size=height))
    shape = (height, width) if channels == 1 else (height, width, 3)
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    blob = _png(pixels, kinds, level=level, pieces=pieces)
    decoded = _decoded(blob)
    assert decoded is not None
    assert np.array_equal(decoded, _planar(pixels))
    assert np.array_equal(decoded, _planar(imagecodecs.png_decode(blob)))


def _broken(fault: str) -> bytes:
    pixels = np.random.default_rng(3).integers(0, 256, (9, 10, 3), dtype=np.uint8)
    kinds = [4] * 9
    good = _png(pixels, kinds)
    if fault == "idat crc":
        at = good.index(b"IEND") - 8  # the last byte of IDAT's CRC
        return good[:at] + bytes([good[at] ^ 1]) + good[at + 1 :]
    if fault == "filter type 5":
        rows = zlib.decompress(_png_stream(good))
        return _png(pixels, kinds, rows=b"\x05" + rows[1:])
    if fault == "a row short":
        return _png(pixels, kinds, rows=zlib.decompress(_png_stream(good))[:-31])
    if fault == "a row long":
        return _png(pixels, kinds, rows=zlib.decompress(_png_stream(good)) + bytes(31))
    if fault == "adler-32":
        at = good.index(b"IDAT")
        length = struct.unpack(">I", good[at - 4 : at])[0]
        body = bytearray(good[at + 4 : at + 4 + length])
        body[-1] ^= 1
        return good[: at - 4] + _chunk(b"IDAT", bytes(body)) + good[at + 8 + length :]
    if fault == "unknown critical chunk":
        return _png(pixels, kinds, before_end=_chunk(b"ZZZZ", b"x"))
    if fault == "split IDATs":
        two = _png(pixels, kinds, pieces=2)
        second = two.index(b"IDAT", two.index(b"IDAT") + 4) - 4
        return two[:second] + _chunk(b"tEXt", b"a\x00b") + two[second:]
    if fault == "no IEND":
        return good[: good.index(b"IEND") - 4]
    raise AssertionError(fault)


def _png_stream(blob: bytes) -> bytes:
    at = blob.index(b"IDAT")
    length = struct.unpack(">I", blob[at - 4 : at])[0]
    return blob[at + 4 : at + 4 + length]


_FAULTS = [
    "idat crc",
    "filter type 5",
    "a row short",
    "a row long",
    "adler-32",
    "unknown critical chunk",
    "split IDATs",
    "no IEND",
]


@pytest.mark.parametrize("fault", _FAULTS)
def test_a_file_not_well_formed_is_left_to_libpng_and_pillow(fault: str) -> None:
    assert _decoded(_broken(fault)) is None


def _outcome(path: Path) -> np.ndarray | str:
    try:
        return decode_image(path)
    except DataError as exc:
        return str(exc)


@pytest.mark.parametrize("fault", _FAULTS)
def test_a_file_not_well_formed_gives_what_it_gave_before(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(_broken(fault))
    now = _outcome(path)
    monkeypatch.setattr(png, "decode", lambda blob, shape: None)  # libpng, then Pillow
    before = _outcome(path)
    assert type(now) is type(before)
    assert now == before if isinstance(now, str) else np.array_equal(now, before)


def test_an_ancillary_chunk_with_a_bad_crc_is_skipped_as_libpng_skips_it() -> None:
    pixels = np.random.default_rng(5).integers(0, 256, (12, 7), dtype=np.uint8)
    blob = _png(pixels, [1, 2, 3, 4] * 3, before_end=_chunk(b"tEXt", b"a\x00b", crc=0))
    decoded = _decoded(blob)
    assert decoded is not None
    assert np.array_equal(decoded, pixels[None])
    assert np.array_equal(decoded, imagecodecs.png_decode(blob)[None])
