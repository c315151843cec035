"""Check a local copy of a test set against the per-image manifest srbench ships (SPEC §4).

Two files per set under ``srbench/reference/manifests/``:

- ``<set>.sha256``: ``sha256sum`` format (``<hash>  <file name>``), so
  ``sha256sum -c set5.sha256`` also works from inside the set's folder;
- ``<set>.images.csv``: ``image_id,height,width,channels,pixels_sha256``, the canonical
  size and channel count of each image and a hash of its decoded pixels (see
  `pixels_sha256`), so a re-encoded file with identical pixels is recognised as such.

Known-bad copies (SPEC §3) are named loudly in the report: a grayscale copy of a colour
set, a gray image stored as 3 channels, HR already cropped to a multiple of 12 (or 8, 6,
4, 3, 2), and Urban100 "HR" at half resolution. Sets without a shipped manifest (B100,
Urban100) are decoded and checked for those variants only, and the report says so.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.resources
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from srbench.data.io import decode_image, sha256_file
from srbench.data.sets import DatasetSpec, Located
from srbench.errors import DataError

__all__ = [
    "ImageCheck",
    "VerifyReport",
    "load_manifest",
    "pixels_sha256",
    "verify",
    "write_manifest",
]

Status = Literal["ok", "mismatch", "missing", "extra", "unreadable", "unchecked"]
BAD = "KNOWN-BAD COPY:"
_CROP_MODULI = (12, 8, 6, 4, 3, 2)
# Long side of the originals, for sets whose manifest is not shipped (SPEC §4: ~1024 px).
_LONG_SIDE = {"urban100": 1024}


@dataclass(frozen=True, slots=True)
class Expected:
    """One manifest row: the canonical file, its hashes, size and channel count."""

    file: str
    sha256: str
    height: int
    width: int
    channels: int
    pixels_sha256: str


@dataclass(frozen=True, slots=True)
class ImageCheck:
    """The verdict on one image; `note` says what differs."""

    image_id: str
    status: Status
    path: Path | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Per-image verdicts and set-level warnings for one local copy of a test set."""

    dataset: str
    folder: Path
    layout: str
    has_manifest: bool
    images: tuple[ImageCheck, ...]
    warnings: tuple[str, ...]

    @property
    def problems(self) -> list[str]:
        """Every image that is not ok, and every warning, one line each."""
        bad = [c for c in self.images if c.status not in ("ok", "unchecked")]
        return [_line(c) for c in bad] + list(self.warnings)

    @property
    def ok(self) -> bool:
        """True only for a copy checked against a manifest with nothing wrong found."""
        return self.has_manifest and not self.problems

    def summary(self) -> str:
        """Human-readable report: verdict line, warnings, then the images that are not ok."""
        where = f"{self.dataset} in {self.folder} ({self.layout} layout)"
        n = len(self.images)
        if self.ok:
            return f"{where}: OK, all {n} images match the shipped manifest"
        if self.has_manifest:
            head = f"{where}: PROBLEMS FOUND ({len(self.problems)})"
        else:
            head = (
                f"{where}: NOT VERIFIED: no manifest for {self.dataset} shipped with srbench; "
                f"{n} images decoded and checked for known-bad variants only"
            )
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


@dataclass(frozen=True, slots=True)
class _Seen:
    path: Path
    sha256: str
    pixels_sha256: str
    channels: int
    height: int
    width: int
    equal_channels: bool

    @property
    def gray(self) -> bool:
        return self.channels == 1 or self.equal_channels


def pixels_sha256(image: np.ndarray) -> str:
    """SHA-256 of a decoded uint8 (C, H, W) image: its shape line, then its bytes."""
    c, h, w = image.shape
    digest = hashlib.sha256(f"{c}x{h}x{w}\n".encode())
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


def load_manifest(key: str, manifests: Path | None = None) -> dict[str, Expected] | None:
    """Rows of set `key`'s manifest by image id (`manifests` or the shipped ones); None if none."""
    folder = manifests or importlib.resources.files("srbench") / "reference" / "manifests"
    sums, table = folder / f"{key}.sha256", folder / f"{key}.images.csv"
    if not sums.is_file():
        return None
    if not table.is_file():
        raise DataError(
            f"manifest {sums} has no companion {table}",
            hint="rebuild both with srbench.data.manifest.write_manifest",
        )
    hashes = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, _, name = line.partition("  ")
            hashes[Path(name).stem] = (name, digest)
    rows = {r["image_id"]: r for r in csv.DictReader(table.read_text().splitlines())}
    if set(rows) != set(hashes):
        raise DataError(
            f"manifest {sums} and {table} list different images",
            hint="rebuild both with srbench.data.manifest.write_manifest",
        )
    return {
        image_id: Expected(
            file=name,
            sha256=digest,
            height=int(rows[image_id]["height"]),
            width=int(rows[image_id]["width"]),
            channels=int(rows[image_id]["channels"]),
            pixels_sha256=rows[image_id]["pixels_sha256"],
        )
        for image_id, (name, digest) in hashes.items()
    }


def write_manifest(
    spec: DatasetSpec, root: Path | None, out_dir: Path, scale: int = 2
) -> tuple[Path, Path]:
    """Write `<key>.sha256` and `<key>.images.csv` for the copy of `spec` under `root`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    seen = {r.image_id: _inspect(r.path) for r in spec.images(root, scale)}
    sums, table = out_dir / f"{spec.key}.sha256", out_dir / f"{spec.key}.images.csv"
    sums.write_text("".join(f"{s.sha256}  {s.path.name}\n" for s in seen.values()))
    lines = ["image_id,height,width,channels,pixels_sha256"] + [
        f"{i},{s.height},{s.width},{s.channels},{s.pixels_sha256}" for i, s in seen.items()
    ]
    table.write_text("\n".join(lines) + "\n")
    return sums, table


def verify(
    spec: DatasetSpec, root: Path | None, scale: int = 2, *, manifests: Path | None = None
) -> VerifyReport:
    """Check every image of `spec` under `root` against its manifest; name known-bad copies."""
    found = spec.locate(root, scale)
    checks: list[ImageCheck] = []
    seen: dict[str, _Seen] = {}
    for ref in found.images:
        try:
            seen[ref.image_id] = _inspect(ref.path)
        except DataError as exc:
            checks.append(
                ImageCheck(ref.image_id, "unreadable", ref.path, str(exc).splitlines()[0])
            )
    manifest = load_manifest(spec.key, manifests)
    warns = _half_resolution(spec, seen.values())
    if manifest is None:
        checks += [ImageCheck(i, "unchecked", s.path) for i, s in seen.items()]
        count = spec.count_problem(len(found.images))
        return _report(spec, found, False, checks, [count, *warns] if count else warns)
    pairs = {i: (e, seen[i]) for i, e in manifest.items() if i in seen}
    extra = {i: s for i, s in seen.items() if i not in manifest}
    found_ids = {ref.image_id for ref in found.images}
    missing = {i: e for i, e in manifest.items() if i not in found_ids}
    for image_id, expected in list(missing.items()):
        twin = next(
            (i for i, s in extra.items() if s.pixels_sha256 == expected.pixels_sha256), None
        )
        if twin is not None:
            note = f"same pixels as the original {expected.file}, under another name"
            checks.append(ImageCheck(twin, "ok", extra.pop(twin).path, note))
            del missing[image_id]
    for image_id, (expected, actual) in pairs.items():
        checks.append(_compare(image_id, expected, actual))
    checks += [ImageCheck(i, "missing", None, f"expected {e.file}") for i, e in missing.items()]
    checks += [ImageCheck(i, "extra", s.path, "not in the manifest") for i, s in extra.items()]
    warns += _gray_warnings(spec, pairs) + _crop_warnings(spec, pairs, scale)
    if found.layout == "selfexsr" and (missing or extra):
        warns.append(
            f"SelfExSR layout: its files are renamed and cropped to a multiple of {scale}, so "
            "images that differ from the originals only by that crop show as missing/extra"
        )
    return _report(spec, found, True, checks, warns)


def _report(
    spec: DatasetSpec,
    found: Located,
    has_manifest: bool,
    checks: list[ImageCheck],
    warns: list[str],
) -> VerifyReport:
    ordered = tuple(sorted(checks, key=lambda c: c.image_id))
    return VerifyReport(spec.name, found.folder, found.layout, has_manifest, ordered, tuple(warns))


def _inspect(path: Path) -> _Seen:
    image = decode_image(path)
    c, h, w = image.shape
    equal = c == 3 and bool((image[0] == image[1]).all() and (image[1] == image[2]).all())
    return _Seen(path, sha256_file(path), pixels_sha256(image), c, h, w, equal)


def _line(check: ImageCheck) -> str:
    return f"{check.image_id}: {check.status}" + (f" ({check.note})" if check.note else "")


def _compare(image_id: str, expected: Expected, actual: _Seen) -> ImageCheck:
    if actual.sha256 == expected.sha256:
        return ImageCheck(image_id, "ok", actual.path)
    if actual.pixels_sha256 == expected.pixels_sha256:
        note = "file bytes differ but the decoded pixels are identical (re-encoded)"
        return ImageCheck(image_id, "ok", actual.path, note)
    notes = []
    if expected.channels == 3 and actual.gray:
        notes.append("gray, the original is colour")
    if expected.channels == 1 and actual.channels == 3:
        notes.append("3 channels, the original is 1-channel gray")
    if (actual.height, actual.width) != (expected.height, expected.width):
        size = f"{actual.width}x{actual.height}, the original is {expected.width}x{expected.height}"
        modulus = _crop_modulus([(expected, actual)])
        notes.append(size + (f" (cropped to a multiple of {modulus})" if modulus else ""))
    return ImageCheck(image_id, "mismatch", actual.path, "; ".join(notes) or "different pixels")


def _gray_warnings(spec: DatasetSpec, pairs: dict[str, tuple[Expected, _Seen]]) -> list[str]:
    colour = [a for e, a in pairs.values() if e.channels == 3]
    warns = []
    if colour and all(a.gray for a in colour):
        warns.append(
            f"{BAD} grayscale {spec.name}: every colour image is stored as gray (1 channel or "
            "3 equal channels); published numbers are on the colour originals"
        )
    widened = sorted(i for i, (e, a) in pairs.items() if e.channels == 1 and a.channels == 3)
    if widened:
        warns.append(
            f"{BAD} {', '.join(widened)} is 1-channel gray in the original but has 3 channels "
            "here: it would be scored as RGB converted to Y, not on its raw intensity"
        )
    return warns


def _crop_modulus(pairs: list[tuple[Expected, _Seen]]) -> int | None:
    """The largest m such that every image is its original cropped to a multiple of m."""
    for m in _CROP_MODULI:
        if all(
            (a.height, a.width) == (e.height - e.height % m, e.width - e.width % m)
            for e, a in pairs
        ):
            return m
    return None


def _crop_warnings(
    spec: DatasetSpec, pairs: dict[str, tuple[Expected, _Seen]], scale: int
) -> list[str]:
    resized = [
        (i, e, a) for i, (e, a) in pairs.items() if (a.height, a.width) != (e.height, e.width)
    ]
    modulus = _crop_modulus(list(pairs.values())) if resized else None
    if modulus is None:
        return []
    i, e, a = resized[0]
    example = f"e.g. {i} {a.width}x{a.height}, the original {e.width}x{e.height}"
    harmless = all(
        (a.height - a.height % scale, a.width - a.width % scale)
        == (e.height - e.height % scale, e.width - e.width % scale)
        for e, a in pairs.values()
    )
    effect = (
        f"harmless at x{scale}, where the protocol crops to a multiple of {scale} anyway, "
        "but wrong at other scales"
        if harmless
        else f"at x{scale} the evaluated area differs from the published protocol's"
    )
    return [f"{BAD} {spec.name} HR already cropped to multiples of {modulus} ({example}): {effect}"]


def _half_resolution(spec: DatasetSpec, seen: Iterable[_Seen]) -> list[str]:
    expected = _LONG_SIDE.get(spec.key)
    sides = [max(s.height, s.width) for s in seen]
    if expected is None or not sides or statistics.median(sides) > 0.75 * expected:
        return []
    return [
        f"{BAD} {spec.name} 'HR' at about half resolution (median long side "
        f"{statistics.median(sides):.0f} px, the originals about {expected} px): SelfExSR's "
        "image_SRF_2 'HR' is such a copy; bicubic x2 scores 26.66 dB on it instead of 26.88"
    ]
