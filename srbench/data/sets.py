"""The standard SR test sets and the embedded default set, and how they are found on disk.

A data root (``--data-root`` or ``SRBENCH_DATA_ROOT``) holds one folder per set, in any of
the layouts in use:

- plain:    ``<root>/Set5/*.png`` (also .jpg .jpeg .bmp .tif .tiff);
- EDSR/BasicSR: ``<root>/Set5/HR/*.png``; ``LR_bicubic/`` and any other folder is ignored;
- SelfExSR: ``<root>/Set5/image_SRF_<s>/<id>_SRF_<s>_HR.png``, the HR crop for scale s
  (``img_001_SRF_2_HR.png`` is image ``img_001``); LR files and method results are ignored.

The set's folder name is matched in any letter case (``set5``, ``URBAN100``), and B100
also answers to the names other toolkits give it, ``BSD100`` and ``BSDS100``.
Hidden files (``.*``, e.g. macOS ``._baby.png``) are skipped. ``image_id`` is the file
stem and images come sorted by it, so runs are deterministic.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from srbench.errors import DataError

__all__ = [
    "B100",
    "DATA_ROOT_ENV",
    "SAMPLES",
    "SET5",
    "SET14",
    "URBAN100",
    "BundledSpec",
    "DatasetSpec",
    "ImageRef",
    "Located",
    "resolve_data_root",
]

DATA_ROOT_ENV = "SRBENCH_DATA_ROOT"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
LAYOUTS = (
    "<Set>/*.png (plain folder), <Set>/HR/*.png (EDSR/BasicSR), "
    "<Set>/image_SRF_<scale>/*_HR.png (SelfExSR)"
)
_SRF_DIR = re.compile(r"image_SRF_(\d+)")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image of a dataset: the set's display name, a stable id (file stem), the file."""

    dataset: str
    image_id: str
    path: Path


@dataclass(frozen=True, slots=True)
class Located:
    """Where a set was found: its folder, the layout name, and its images sorted by id."""

    folder: Path
    layout: str
    images: tuple[ImageRef, ...]


@dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """A test set found by name under a data root, in any of the accepted layouts."""

    name: str
    description: str
    n_images: int | None = None
    aliases: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Registry name and manifest file stem: the display name in lower case."""
        return self.name.lower()

    def images(self, root: Path | None, scale: int) -> list[ImageRef]:
        """The set's HR images under `root` (SelfExSR: the crops for `scale`), sorted by id.

        Warns (UserWarning) when the count differs from `n_images`.
        """
        found = self.locate(root, scale)
        problem = self.count_problem(len(found.images))
        if problem:
            warnings.warn(f"{problem} in {found.folder}", UserWarning, stacklevel=2)
        return list(found.images)

    def image_files(
        self, root: Path | None, scales: Iterable[int]
    ) -> list[tuple[ImageRef, list[int]]]:
        """Each image file the set has at `scales` once, with the scales that use it."""
        scales_of: dict[Path, tuple[ImageRef, list[int]]] = {}
        for scale in scales:
            for ref in self.images(root, scale):
                scales_of.setdefault(ref.path, (ref, []))[1].append(scale)
        return list(scales_of.values())

    def locate(self, root: Path | None, scale: int) -> Located:
        """Find the set's folder and layout under `root` (None: the download cache)."""
        folder = self._folder(self._root(root))
        layout, images = _scan(self.name, folder, scale)
        return Located(folder, layout, tuple(images))

    def count_problem(self, count: int) -> str:
        """A sentence when `count` differs from the expected `n_images`, else ''."""
        if self.n_images is None or count == self.n_images:
            return ""
        return (
            f"{self.name} has {count} images, expected {self.n_images}: "
            "its scores are not comparable with published tables"
        )

    def _root(self, root: Path | None) -> Path:
        if root is not None:
            root = Path(root)
            if not root.is_dir():
                raise DataError(
                    f"data root {root} does not exist or is not a folder",
                    hint=f"pass --data-root DIR or set {DATA_ROOT_ENV}=DIR, "
                    f"where DIR holds {self.name}/ and the other sets",
                )
            return root
        from srbench.data.download import datasets_cache_dir

        cache = datasets_cache_dir()
        if cache.is_dir() and self._candidates(cache):
            return cache
        raise DataError(
            f"{self.name}: no data root given and no downloaded copy in {cache}",
            hint=f"pass --data-root DIR or set {DATA_ROOT_ENV}=DIR, where DIR holds "
            f"{self.name}/; on a machine with internet, `srbench data fetch {self.key}` "
            "downloads it into that cache",
        )

    def _candidates(self, root: Path) -> list[Path]:
        names = {n.lower() for n in (self.name, *self.aliases)}
        return sorted(p for p in root.iterdir() if p.is_dir() and p.name.lower() in names)

    def _folder(self, root: Path) -> Path:
        found = self._candidates(root)
        if len(found) > 1:
            raise DataError(
                f"{self.name}: several folders under {root} could hold it: "
                + ", ".join(p.name for p in found),
                hint="keep one of them, or move the others out of the data root",
            )
        if not found:
            names = " / ".join((self.name, *self.aliases))
            raise DataError(
                f"no {names} folder under {root} (any letter case); it holds {_listing(root)}",
                hint=f"put the images in {root / self.name}/ in an accepted layout: {LAYOUTS}; "
                f"on a machine with internet, `srbench data fetch {self.key}` downloads it",
            )
        return found[0]


@dataclass(frozen=True, kw_only=True)
class BundledSpec(DatasetSpec):
    """A set made of image files an installed package ships, so it works offline."""

    package: str
    distribution: str
    files: tuple[str, ...]

    def locate(self, root: Path | None, scale: int) -> Located:
        """The bundled files; `root` and `scale` are ignored (the set needs no data root)."""
        hint = f"pip install {self.distribution}"
        try:
            module = importlib.util.find_spec(self.package)
        except ModuleNotFoundError:
            module = None
        if module is None or module.origin is None:
            raise DataError(
                f"{self.name} needs {self.distribution}, which ships its images; "
                "it is not installed",
                hint=hint,
            )
        folder = Path(module.origin).parent
        missing = [f for f in self.files if not (folder / f).is_file()]
        if missing:
            version = importlib.metadata.version(self.distribution)
            raise DataError(
                f"{self.name}: {', '.join(missing)} missing from {folder} "
                f"({self.distribution} {version})",
                hint=f"reinstall it: {hint} --force-reinstall",
            )
        images = [ImageRef(self.name, Path(f).stem, folder / f) for f in sorted(self.files)]
        return Located(folder, "bundled", tuple(images))


def resolve_data_root(value: str | None) -> Path | None:
    """The data root from the option `value`, else from SRBENCH_DATA_ROOT, else None."""
    raw = value or os.environ.get(DATA_ROOT_ENV)
    return Path(raw).expanduser() if raw else None


def _listing(folder: Path, limit: int = 12) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    if not names:
        return "nothing"
    more = f" … ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _scan(dataset: str, folder: Path, scale: int) -> tuple[str, list[ImageRef]]:
    subdirs = [p for p in folder.iterdir() if p.is_dir()]
    hr = [p for p in subdirs if p.name.lower() == "hr"]
    if hr:
        return "edsr", _plain(dataset, hr[0])
    srf = {int(m.group(1)): p for p in subdirs if (m := _SRF_DIR.fullmatch(p.name))}
    if srf:
        if scale not in srf:
            raise DataError(
                f"{dataset}: the SelfExSR layout in {folder} has no image_SRF_{scale}/ "
                f"(it has scales {', '.join(map(str, sorted(srf)))})",
                hint="SelfExSR crops HR per scale: evaluate those scales, or use another copy",
            )
        pattern = re.compile(rf"(.+)_SRF_{scale}_HR\.png")
        images = [
            ImageRef(dataset, m.group(1), p)
            for p in srf[scale].iterdir()
            if p.is_file() and (m := pattern.fullmatch(p.name))
        ]
        if not images:
            raise DataError(
                f"{dataset}: no *_SRF_{scale}_HR.png files in {srf[scale]}",
                hint=f"accepted layouts: {LAYOUTS}",
            )
        return "selfexsr", sorted(images, key=lambda r: r.image_id)
    return "plain", _plain(dataset, folder)


def _plain(dataset: str, folder: Path) -> list[ImageRef]:
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not files:
        kinds = " ".join(sorted(IMAGE_SUFFIXES))
        raise DataError(
            f"{dataset}: no images ({kinds}) in {folder}; it holds {_listing(folder)}",
            hint=f"accepted layouts: {LAYOUTS}",
        )
    by_id: dict[str, Path] = {}
    for path in sorted(files):
        if path.stem in by_id:
            raise DataError(
                f"{dataset}: two files for image {path.stem!r}: {by_id[path.stem]} and {path}",
                hint="keep one file per image",
            )
        by_id[path.stem] = path
    return [ImageRef(dataset, image_id, by_id[image_id]) for image_id in sorted(by_id)]


SET5 = DatasetSpec(
    name="Set5",
    description="Set5 (Bevilacqua et al. 2012): 5 colour images, 228-512 px",
    n_images=5,
)
SET14 = DatasetSpec(
    name="Set14",
    description="Set14 (Zeyde et al. 2010): 14 images, one of them gray (bridge)",
    n_images=14,
)
B100 = DatasetSpec(
    name="B100",
    description="B100/BSD100 (Martin et al. 2001): the 100 BSD300 test images, 481x321",
    n_images=100,
    aliases=("BSD100", "BSDS100"),
)
URBAN100 = DatasetSpec(
    name="Urban100",
    description="Urban100 (Huang et al. 2015): 100 urban scenes, about 1024 px wide",
    n_images=100,
)
# The offline default: four photos inside the scikit-image wheel (skimage/data/), not the
# ones skimage downloads with pooch. Licences, from the docstrings of skimage.data's loaders
# (the README in that folder states none): camera (512x512 gray) CC0, Lav Varshney;
# chelsea (451x300) CC0, Stefan van der Walt; coffee (600x400) CC0, Rachel Michetti;
# rocket (640x427 JPEG) public domain, SpaceX. One gray image exercises the 1-channel rule;
# odd sizes (451, 427) exercise modcrop; 0.91 Mpixel in all keeps the default run quick.
SAMPLES = BundledSpec(
    name="Samples",
    description="4 CC0/public-domain photos shipped in scikit-image (offline default)",
    n_images=4,
    package="skimage.data",
    distribution="scikit-image",
    files=("camera.png", "chelsea.png", "coffee.png", "rocket.jpg"),
)
