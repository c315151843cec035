"""read_image: every documented conversion, checked on exact pixel values."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin

from srbench.data import io
from srbench.data.io import read_image, sha256_file
from srbench.errors import DataError


def _png16(path: Path, samples: np.ndarray, color_type: int) -> Path:
    """Write a 16-bit PNG by hand (Pillow cannot write 16-bit colour), unfiltered rows."""
    h, w = samples.shape[:2]
    rows = b"".join(b"\x00" + samples[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def _values(t: torch.Tensor) -> list:
    return t.tolist()


def test_gray_stays_one_channel(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0, 7, 255]], dtype=np.uint8)).save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.dtype == torch.uint8 and out.shape == (1, 1, 3)
    assert _values(out) == [[[0, 7, 255]]]


def test_rgb_is_untouched_and_writable(tmp_path: Path) -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    out = read_image(tmp_path / "c.png")
    assert torch.equal(out, torch.from_numpy(rgb).permute(2, 0, 1))
    assert out.is_contiguous()
    out[0, 0, 0] = 1  # a writable copy, not a view of Pillow's buffer


def test_equal_channels_stay_three_channels(tmp_path: Path) -> None:
    Image.fromarray(np.full((2, 2, 3), 90, dtype=np.uint8)).save(tmp_path / "e.png")
    assert read_image(tmp_path / "e.png").shape == (3, 2, 2)


def test_16bit_gray_png_is_rounded_by_257(tmp_path: Path) -> None:
    values = np.array([[0, 128, 129, 385, 386, 65407, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    assert _values(read_image(tmp_path / "g16.png")) == [[[0, 0, 1, 1, 2, 255, 255]]]


def test_16bit_big_endian_tiff(tmp_path: Path) -> None:
    img = Image.new("I;16B", (2, 1))
    img.putpixel((1, 0), 257 * 200 + 129)
    img.save(tmp_path / "b.tif")
    assert Image.open(tmp_path / "b.tif").mode == "I;16B"
    assert _values(read_image(tmp_path / "b.tif")) == [[[0, 201]]]


def test_32bit_integer_mode_i(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0, 25700, 65535]], dtype=np.int32)).save(tmp_path / "i.tif")
    assert Image.open(tmp_path / "i.tif").mode == "I"
    assert _values(read_image(tmp_path / "i.tif")) == [[[0, 100, 255]]]
    Image.fromarray(np.array([[0, 70000]], dtype=np.int32)).save(tmp_path / "big.tif")
    with pytest.raises(DataError, match=r"big\.tif: 32-bit integer pixels outside 0\.\.65535"):
        read_image(tmp_path / "big.tif")


def test_16bit_colour_png_keeps_the_high_byte(tmp_path: Path) -> None:
    samples = np.array([[[129, 385, 65407], [65535, 256, 255]]], dtype=np.uint16)
    out = read_image(_png16(tmp_path / "rgb16.png", samples, color_type=2))
    assert _values(out) == [[[0, 255]], [[1, 1]], [[255, 0]]]


def test_16bit_gray_alpha_png_is_one_channel(tmp_path: Path) -> None:
    samples = np.array([[[300, 65535], [65535, 0]]], dtype=np.uint16)
    out = read_image(_png16(tmp_path / "la16.png", samples, color_type=4))
    assert _values(out) == [[[1, 255]]]


def test_rgba_drops_alpha(tmp_path: Path) -> None:
    rgba = np.array([[[10, 20, 30, 0], [40, 50, 60, 128]]], dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert _values(read_image(tmp_path / "a.png")) == [[[10, 40]], [[20, 50]], [[30, 60]]]


def test_la_drops_alpha(tmp_path: Path) -> None:
    la = np.array([[[10, 0], [200, 255]]], dtype=np.uint8)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert _values(read_image(tmp_path / "la.png")) == [[[10, 200]]]


def test_colour_palette_becomes_rgb(tmp_path: Path) -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 10, 10, 10])
    img.putpixel((1, 0), 1)
    img.save(tmp_path / "p.png")
    assert _values(read_image(tmp_path / "p.png")) == [[[255, 10]], [[0, 10]], [[0, 10]]]


def test_gray_palette_becomes_one_channel(tmp_path: Path) -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([10, 10, 10, 200, 200, 200])
    img.putpixel((1, 0), 1)
    img.save(tmp_path / "gp.png")
    assert _values(read_image(tmp_path / "gp.png")) == [[[10, 200]]]


def test_cmyk_tiff_uses_pillows_conversion(tmp_path: Path) -> None:
    img = Image.new("CMYK", (2, 1))
    img.putpixel((1, 0), (100, 50, 20, 30))
    img.save(tmp_path / "c.tif")
    # R = (255 - C)(255 - K) / 255: 155 * 225 / 255 = 136.8 -> 137, and so on.
    assert _values(read_image(tmp_path / "c.tif")) == [[[255, 137]], [[255, 181]], [[255, 207]]]


def test_cmyk_jpeg(tmp_path: Path) -> None:
    Image.new("CMYK", (16, 16), (100, 50, 20, 30)).save(tmp_path / "c.jpg", quality=100)
    out = read_image(tmp_path / "c.jpg")
    assert out.shape == (3, 16, 16)
    # JPEG is lossy: a flat block comes back within two levels of the exact conversion.
    expected = torch.tensor([137, 181, 207]).view(3, 1, 1)
    assert (out.int() - expected).abs().max() <= 2


def test_bilevel_becomes_0_255_gray(tmp_path: Path) -> None:
    img = Image.new("1", (3, 1))
    img.putpixel((1, 0), 1)
    img.save(tmp_path / "b.png")
    assert _values(read_image(tmp_path / "b.png")) == [[[0, 255, 0]]]


def test_exif_orientation_is_not_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.new("RGB", (3, 2), (1, 2, 3)).save(tmp_path / "o.png", exif=exif)
    assert read_image(tmp_path / "o.png").shape == (3, 2, 3)


def test_truncated_png_is_a_data_error(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cannot decode .*cut\.png: image file is truncated") as e:
        read_image(tmp_path / "cut.png")
    assert "truncated or corrupt" in e.value.hint


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(DataError, match=r"cannot read .*notes\.png: not an image file"):
        read_image(tmp_path / "notes.png")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"image file .*nope\.png does not exist"):
        read_image(tmp_path / "nope.png")


def test_multi_frame_gif_is_refused(tmp_path: Path) -> None:
    frames = [Image.new("L", (4, 4), v) for v in (0, 255)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(DataError, match=r"a\.gif: it has 2 frames"):
        read_image(tmp_path / "a.gif")


def test_float_mode_is_refused(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((2, 2), dtype=np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(DataError, match=r"f\.tif: unsupported image mode 'F'"):
        read_image(tmp_path / "f.tif")


def test_sha256_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    (tmp_path / "x.bin").write_bytes(data)
    assert sha256_file(tmp_path / "x.bin") == hashlib.sha256(data).hexdigest()
    with pytest.raises(DataError, match=r"cannot hash .*y\.bin"):
        sha256_file(tmp_path / "y.bin")


def _refuse_compiled(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the compiled decoder (srbench.data.png) pass on every file; returns its calls."""
    calls: list[int] = []

    def refuse(blob: bytes, shape: tuple[int, ...]) -> None:
        calls.append(len(blob))

    monkeypatch.setattr(io.png, "decode", refuse)
    return calls


def _pillow_only(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the compiled and libpng paths refuse every file (so Pillow decodes); returns the
    sizes of the files they were asked for."""
    calls = _refuse_compiled(monkeypatch)

    def refuse(blob: bytes) -> np.ndarray:
        calls.append(len(blob))
        raise RuntimeError("refused by the test")

    monkeypatch.setattr(io.imagecodecs, "png_decode", refuse)
    return calls


def _pillow_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the Pillow path fail loudly, so a read that succeeds was not Pillow's."""

    def refuse(path: Path, blob: bytes) -> np.ndarray:
        raise AssertionError("Pillow path taken")

    monkeypatch.setattr(io, "_with_pillow", refuse)


def _libpng_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the compiled path pass and the Pillow path fail, so a read that succeeds was
    libpng's."""
    _refuse_compiled(monkeypatch)
    _pillow_fails(monkeypatch)


def _compiled_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the libpng and Pillow paths fail, so a read that succeeds was the compiled one."""

    def refuse(blob: bytes) -> np.ndarray:
        raise AssertionError("libpng path taken")

    monkeypatch.setattr(io.imagecodecs, "png_decode", refuse)
    _pillow_fails(monkeypatch)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_plain_png_decodes_alike_compiled_by_libpng_and_by_pillow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channels: int, level: int
) -> None:
    rng = np.random.default_rng(level + channels)
    noise = rng.integers(0, 256, (37, 53, channels), dtype=np.uint8)
    smooth = np.cumsum(noise, axis=1, dtype=np.uint8)  # Paeth/Sub/Up filters all get used
    pixels = np.concatenate([noise, smooth]).squeeze(-1 if channels == 1 else ())
    Image.fromarray(pixels).save(tmp_path / "p.png", compress_level=level)
    expected = torch.from_numpy(pixels.reshape(74, 53, channels)).permute(2, 0, 1)

    _compiled_only(monkeypatch)
    assert torch.equal(read_image(tmp_path / "p.png"), expected)
    monkeypatch.undo()
    _libpng_only(monkeypatch)
    assert torch.equal(read_image(tmp_path / "p.png"), expected)
    monkeypatch.undo()
    refused = _pillow_only(monkeypatch)
    assert torch.equal(read_image(tmp_path / "p.png"), expected)
    assert len(refused) == 2  # after the compiled path and libpng were asked and passed


def test_shared_sets_decode_alike_both_ways(
    data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = sorted(data_root.glob("Set*/**/*.png"))
    assert paths, f"no PNG under {data_root}/Set*"
    fast = [read_image(p) for p in paths]
    _pillow_only(monkeypatch)
    for path, image in zip(paths, fast, strict=True):
        assert torch.equal(read_image(path), image), path


def _write(path: Path, image: Image.Image, **options: object) -> Path:
    image.save(path, **options)
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda d: _write(d / "palette.png", Image.new("P", (4, 3), 1)),
        lambda d: _write(d / "rgba.png", Image.new("RGBA", (4, 3), (1, 2, 3, 4))),
        lambda d: _write(
            d / "key.png", Image.new("RGB", (4, 3), (1, 2, 3)), transparency=(1, 2, 3)
        ),
        lambda d: _write(d / "gray_key.png", Image.new("L", (4, 3), 9), transparency=9),
        lambda d: _write(
            d / "anim.png",
            Image.new("RGB", (4, 3)),
            save_all=True,
            append_images=[Image.new("RGB", (4, 3), (9, 9, 9))],
        ),
        lambda d: _write(d / "x.tif", Image.new("RGB", (4, 3), (1, 2, 3))),
    ],
    ids=["palette", "rgba", "rgb-trns", "gray-trns", "apng", "tiff"],
)
def test_other_files_go_through_pillow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: object
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    libpng = _pillow_only(monkeypatch)
    try:
        read_image(path)
    except DataError as exc:  # the animated PNG: Pillow's verdict, not libpng's first frame
        assert "frames" in str(exc)
    assert libpng == []


def test_png_libpng_refuses_falls_back_to_pillow(tmp_path: Path) -> None:
    """A file missing IDAT's CRC and IEND: libpng refuses it, Pillow reads it, as before."""
    rgb = np.random.default_rng(1).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "full.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:-16])
    with pytest.raises(Exception):  # noqa: B017  (the precondition: libpng refuses)
        io.imagecodecs.png_decode((tmp_path / "cut.png").read_bytes())
    assert torch.equal(read_image(tmp_path / "cut.png"), torch.from_numpy(rgb).permute(2, 0, 1))


@pytest.mark.parametrize(
    ("kind", "data"),
    [(b"gAMA", struct.pack(">I", 45455)), (b"sBIT", bytes([5, 6, 5])), (b"sRGB", b"\x00")],
)
def test_colour_chunks_do_not_change_the_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: bytes, data: bytes
) -> None:
    """Pixels are scored as stored: no gamma or significant-bits shift, compiled or libpng."""
    rgb = np.random.default_rng(2).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    info = PngImagePlugin.PngInfo()
    info.add(kind, data)
    Image.fromarray(rgb).save(tmp_path / "c.png", pnginfo=info)
    expected = torch.from_numpy(rgb).permute(2, 0, 1)

    _compiled_only(monkeypatch)
    assert torch.equal(read_image(tmp_path / "c.png"), expected)
    monkeypatch.undo()
    _libpng_only(monkeypatch)
    assert torch.equal(read_image(tmp_path / "c.png"), expected)


def test_without_imagecodecs_pillow_reads_plain_pngs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install that predates the imagecodecs dependency still reads every file."""
    gray = np.random.default_rng(4).integers(0, 256, (6, 7), dtype=np.uint8)
    Image.fromarray(gray).save(tmp_path / "g.png")
    monkeypatch.setattr(io, "imagecodecs", None)
    assert torch.equal(read_image(tmp_path / "g.png"), torch.from_numpy(gray)[None])
