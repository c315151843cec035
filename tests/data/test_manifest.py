"""verify(): the shipped manifests, and every known-bad variant of SPEC §3 named in the report."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.data.manifest import load_manifest, verify, write_manifest
from srbench.data.sets import B100, SAMPLES, SET5, SET14, URBAN100, DatasetSpec

TINY = DatasetSpec(name="Tiny", description="synthetic colour set", n_images=3)
SIZES = {"a": (50, 38), "b": (37, 29), "c": (64, 40)}  # (width, height), none a multiple of 12


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    """A synthetic colour set under tmp/data/Tiny and its manifest in tmp/manifests."""
    rng = np.random.default_rng(0)
    for name, (w, h) in SIZES.items():
        folder = tmp_path / "data" / "Tiny"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
            folder / f"{name}.png"
        )
    write_manifest(TINY, tmp_path / "data", tmp_path / "manifests")
    return tmp_path / "data", tmp_path / "manifests"


def _rewrite(folder: Path, change) -> None:
    for path in sorted(folder.glob("*.png")):
        with Image.open(path) as img:
            changed = change(img.copy())
        changed.save(path)


def _mod_crop(m: int):
    return lambda img: img.crop((0, 0, img.width - img.width % m, img.height - img.height % m))


def test_synthetic_copy_verifies(tiny: tuple[Path, Path]) -> None:
    data, manifests = tiny
    report = verify(TINY, data, manifests=manifests)
    assert report.ok and report.problems == []
    assert [c.status for c in report.images] == ["ok"] * 3
    assert report.summary().endswith("OK, all 3 images match the shipped manifest")


@pytest.mark.parametrize("as_rgb", [False, True], ids=["one-channel", "equal-channels"])
def test_grayscale_copy_is_named(tiny: tuple[Path, Path], as_rgb: bool) -> None:
    data, manifests = tiny
    _rewrite(data / "Tiny", lambda img: img.convert("L").convert("RGB" if as_rgb else "L"))
    report = verify(TINY, data, manifests=manifests)
    assert not report.ok
    assert any(w.startswith("KNOWN-BAD COPY: grayscale Tiny") for w in report.warnings)
    assert {c.note for c in report.images} == {"gray, the original is colour"}


def test_mod12_cropped_copy_is_named(tiny: tuple[Path, Path]) -> None:
    data, manifests = tiny
    _rewrite(data / "Tiny", _mod_crop(12))
    report = verify(TINY, data, scale=2, manifests=manifests)
    assert report.warnings == (
        "KNOWN-BAD COPY: Tiny HR already cropped to multiples of 12 (e.g. a 48x36, the original "
        "50x38): at x2 the evaluated area differs from the published protocol's",
    )
    notes = {c.image_id: c.note for c in report.images}
    assert notes["b"] == "36x24, the original is 37x29 (cropped to a multiple of 12)"


def test_crop_to_the_scale_is_called_harmless_at_that_scale(tiny: tuple[Path, Path]) -> None:
    data, manifests = tiny
    _rewrite(data / "Tiny", _mod_crop(4))
    (warning,) = verify(TINY, data, scale=4, manifests=manifests).warnings
    assert "cropped to multiples of 4" in warning and "harmless at x4" in warning
    (warning,) = verify(TINY, data, scale=2, manifests=manifests).warnings
    assert "at x2 the evaluated area differs" in warning


def test_tampered_renamed_missing_extra(tiny: tuple[Path, Path]) -> None:
    data, manifests = tiny
    folder = data / "Tiny"
    with Image.open(folder / "a.png") as img:
        pixels = np.asarray(img).copy()
    pixels[0, 0, 0] ^= 1
    Image.fromarray(pixels).save(folder / "a.png")
    (folder / "b.png").rename(folder / "d.png")
    (folder / "c.png").unlink()
    Image.new("RGB", (4, 4)).save(folder / "e.png")
    report = verify(TINY, data, manifests=manifests)
    got = {c.image_id: (c.status, c.note) for c in report.images}
    assert got == {
        "a": ("mismatch", "different pixels"),
        "c": ("missing", "expected c.png"),
        "d": ("ok", "same pixels as the original b.png, under another name"),
        "e": ("extra", "not in the manifest"),
    }
    summary = report.summary()
    assert summary.splitlines()[0].endswith("PROBLEMS FOUND (3)")
    assert "  a: mismatch (different pixels)" in summary


def test_truncated_file_is_unreadable(tiny: tuple[Path, Path]) -> None:
    data, manifests = tiny
    path = data / "Tiny" / "c.png"
    path.write_bytes(path.read_bytes()[:200])
    report = verify(TINY, data, manifests=manifests)
    (check,) = [c for c in report.images if c.image_id == "c"]
    assert check.status == "unreadable" and "c.png" in check.note
    assert not report.ok and len(report.images) == 3


def test_reencoded_file_with_the_same_pixels_is_ok(tiny: tuple[Path, Path]) -> None:
    data, manifests = tiny
    path = data / "Tiny" / "a.png"
    with Image.open(path) as img:
        img.save(path, compress_level=0)
    report = verify(TINY, data, manifests=manifests)
    assert report.ok
    assert report.images[0].note.startswith("file bytes differ but the decoded pixels")


def test_gray_image_stored_as_rgb_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "Tiny"
    folder.mkdir(parents=True)
    for name, value in (("bridge", 10), ("b", 20), ("c", 30)):
        Image.new("L", (8, 8), value).save(folder / f"{name}.png")
    write_manifest(TINY, tmp_path / "data", tmp_path / "m")
    Image.new("L", (8, 8), 10).convert("RGB").save(folder / "bridge.png")
    report = verify(TINY, tmp_path / "data", manifests=tmp_path / "m")
    assert report.warnings == (
        "KNOWN-BAD COPY: bridge is 1-channel gray in the original but has 3 channels here: "
        "it would be scored as RGB converted to Y, not on its raw intensity",
    )


def test_no_manifest_says_so(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / "BSD100").mkdir(exist_ok=True)
        Image.new("RGB", (48, 32), i).save(tmp_path / "BSD100" / f"{i}.png")
    report = verify(B100, tmp_path)
    assert not report.has_manifest and not report.ok
    assert {c.status for c in report.images} == {"unchecked"}
    summary = report.summary()
    assert "NOT VERIFIED: no manifest for B100 shipped with srbench" in summary
    assert "B100 has 3 images, expected 100" in summary


def test_urban100_at_half_resolution_is_named(tmp_path: Path) -> None:
    (tmp_path / "Urban100").mkdir()
    for i in range(3):
        Image.new("RGB", (512, 384), i).save(tmp_path / "Urban100" / f"img_00{i}.png")
    (warning,) = [w for w in verify(URBAN100, tmp_path).warnings if "KNOWN-BAD" in w]
    assert "Urban100 'HR' at about half resolution (median long side 512 px" in warning
    assert "26.66 dB" in warning


def test_samples_verify() -> None:
    assert verify(SAMPLES, None).ok


def test_shipped_manifests() -> None:
    assert set(load_manifest("set5")) == {"baby", "bird", "butterfly", "head", "woman"}
    assert load_manifest("set14")["bridge"].channels == 1
    assert load_manifest("b100") is None and load_manifest("urban100") is None


def test_manifest_without_its_table_is_an_error(tiny: tuple[Path, Path]) -> None:
    _, manifests = tiny
    (manifests / "tiny.images.csv").unlink()
    with pytest.raises(Exception, match=r"has no companion .*tiny\.images\.csv"):
        load_manifest("tiny", manifests)


# --- the real Set5 / Set14 (skip without SRBENCH_DATA_ROOT) --------------------------------


@pytest.mark.parametrize("spec", [SET5, SET14])
def test_real_sets_verify(data_root: Path, spec: DatasetSpec) -> None:
    report = verify(spec, data_root)
    assert report.ok, report.summary()


def test_shipped_hashes_are_the_shared_manifest(data_root: Path) -> None:
    shared = dict(
        reversed(line.split("  "))
        for line in (data_root / "MANIFEST.sha256").read_text().splitlines()
    )
    for spec in (SET5, SET14):
        for image_id, row in load_manifest(spec.key).items():
            assert shared[f"{spec.name}/{row.file}"] == row.sha256, image_id


def test_real_set5_gray_and_cropped_copies(data_root: Path, tmp_path: Path) -> None:
    for variant in ("gray", "mod12"):
        shutil.copytree(data_root / "Set5", tmp_path / variant / "Set5")
    _rewrite(tmp_path / "gray" / "Set5", lambda img: img.convert("L"))
    _rewrite(tmp_path / "mod12" / "Set5", _mod_crop(12))
    gray = verify(SET5, tmp_path / "gray")
    assert any("grayscale Set5" in w for w in gray.warnings)
    (cropped,) = verify(SET5, tmp_path / "mod12", scale=2).warnings
    assert "Set5 HR already cropped to multiples of 12 (e.g. baby 504x504" in cropped
    # bird is 288x288, a multiple of 12, so the crop leaves it byte-identical
    assert {c.image_id for c in verify(SET5, tmp_path / "mod12").images if c.status == "ok"} == {
        "bird"
    }
