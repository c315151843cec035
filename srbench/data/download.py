"""Download the standard test sets into the user cache, for machines with internet (SPEC §4).

Each set has several sources, tried in order, because dataset links rot (SPEC §3). An
archive is fetched with pooch (short timeouts, its hash checked where one is published),
kept under ``<cache>/archives/`` so one archive serves every set it holds, and the set's
folder is unpacked into a staging folder. It is moved to ``<cache>/<Set>/`` only after
`srbench.data.manifest.verify` finds nothing wrong, so a bad copy never lands in the cache.
The cache is ``$SRBENCH_HOME/datasets``, else ``platformdirs.user_cache_dir("srbench")/datasets``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from srbench.data.manifest import verify
from srbench.data.sets import LAYOUTS, DatasetSpec
from srbench.errors import DataError
from srbench.registry import datasets

__all__ = ["SOURCES", "Source", "datasets_cache_dir", "fetch_dataset"]

HOME_ENV = "SRBENCH_HOME"
# (connect, read) seconds, requests' semantics: read is the longest silence between bytes,
# so a large archive still downloads while a dead host fails within seconds.
TIMEOUT = (10.0, 60.0)
_BROKEN_ARCHIVE = (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError)


@dataclass(frozen=True, slots=True)
class Source:
    """One downloadable archive that holds a set, and where its URL is documented."""

    url: str
    archive: str  # file name under <cache>/archives/, shared by the sets one archive holds
    folder: str  # the set's folder inside the archive (any depth, any letter case)
    known_hash: str | None  # pooch syntax ("md5:…"); None where no hash is published
    origin: str


# EDSR authors' benchmark archive (about 250 MB): benchmark/{Set5,Set14,B100,Urban100}/
# with HR/ and LR_bicubic/. Linked as "benchmark datasets" from the sanghyun-son/EDSR-PyTorch
# README and used by its src/data/benchmark.py; the same host serves the official EDSR weights.
_EDSR = "https://cv.snu.ac.kr/research/EDSR/benchmark.tar"
_EDSR_ORIGIN = "EDSR-PyTorch README (Lim et al. 2017)"
# Per-set HR archives of the Hugging Face datasets eugenesiow/{Set5,Set14,BSD100,Urban100}
# (made for the super-image library); the URLs are the ones deepinv's Set5HR, Set14HR,
# BSD100HR and Urban100HR dataset classes download.
_HF = "https://huggingface.co/datasets/eugenesiow/{0}/resolve/main/data/{0}_HR.tar.gz"
_HF_ORIGIN = "Hugging Face eugenesiow/{0}, as downloaded by deepinv.datasets"
# SelfExSR's own zips (uofi.box.com) are left out on purpose: their HR files are renamed
# and cropped per scale, and Urban100's image_SRF_2 "HR" is half resolution (SPEC §3).


def _sources(name: str, hf_name: str, hf_hash: str | None = None) -> tuple[Source, ...]:
    return (
        Source(_EDSR, "edsr-benchmark.tar", name, None, _EDSR_ORIGIN),
        Source(
            _HF.format(hf_name),
            f"{hf_name}_HR.tar.gz",
            f"{hf_name}_HR",
            hf_hash,
            _HF_ORIGIN.format(hf_name),
        ),
    )


SOURCES: dict[str, tuple[Source, ...]] = {
    "set5": _sources("Set5", "Set5"),
    "set14": _sources("Set14", "Set14"),
    "b100": _sources("B100", "BSD100"),
    # md5 of Urban100_HR.tar.gz as checked by deepinv's examples (torchvision's
    # download_and_extract_archive(md5=...) hashes the archive file).
    "urban100": _sources("Urban100", "Urban100", "md5:65d9d84a34b72c6f7ca1e26a12df1e4c"),
}


def datasets_cache_dir() -> Path:
    """Where downloaded sets live: $SRBENCH_HOME/datasets, else <user cache>/srbench/datasets."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / "datasets"
    import platformdirs

    return Path(platformdirs.user_cache_dir("srbench")) / "datasets"


def fetch_dataset(name: str, cache_dir: Path | None = None) -> Path:
    """Download, verify and unpack set `name` unless cached; return the root that holds it."""
    spec: DatasetSpec = datasets.get(name)
    root = Path(cache_dir) if cache_dir is not None else datasets_cache_dir()
    sources = SOURCES.get(spec.key)
    if not sources:
        raise DataError(
            f"srbench knows no download source for {spec.name}",
            hint=f"put its images under a data root in an accepted layout ({LAYOUTS}) "
            "and pass --data-root; the Samples set ships with scikit-image and needs none",
        )
    try:
        spec.locate(root, 2)
        return root
    except DataError:
        pass  # not cached yet
    failures = []
    for source in sources:
        try:
            _install(spec, source, root)
            return root
        except (OSError, ValueError, DataError, *_BROKEN_ARCHIVE) as exc:
            reason = str(exc).splitlines()[0] or type(exc).__name__
            failures.append(f"{source.url} ({source.origin}): {reason}")
    raise DataError(
        f"could not download {spec.name}; every source failed:\n    " + "\n    ".join(failures),
        hint=f"offline? copy the set from a machine that has it, or download one of those "
        f"archives by hand: put it in {root / 'archives'} under the name "
        f"{' or '.join(s.archive for s in sources)} and rerun, or unpack it so that "
        f"DIR/{spec.name}/ holds the images in an accepted layout ({LAYOUTS}) and pass "
        "--data-root DIR",
    )


def _install(spec: DatasetSpec, source: Source, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    archive = _download(source, root / "archives")
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.key}-", dir=root))
    try:
        try:
            _extract(archive, source.folder, staging / "unpacked").rename(staging / spec.name)
        except _BROKEN_ARCHIVE:
            archive.unlink(missing_ok=True)  # else pooch would reuse the broken file next time
            raise
        report = verify(spec, staging)
        if report.problems:
            raise DataError(
                f"the copy in {source.archive} is not the canonical {spec.name}: "
                + "; ".join(report.problems[:3])
            )
        (staging / spec.name).rename(root / spec.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _download(source: Source, folder: Path) -> Path:
    import pooch

    downloader = pooch.HTTPDownloader(progressbar=sys.stderr.isatty(), timeout=TIMEOUT)
    path = pooch.retrieve(
        source.url, source.known_hash, fname=source.archive, path=folder, downloader=downloader
    )
    return Path(path)


def _extract(archive: Path, folder: str, dest: Path) -> Path:
    """Unpack only the shallowest directory named `folder` from `archive`; return its path."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            prefix = _prefix(names, folder, archive)
            zf.extractall(dest, [n for n in names if _under(n, prefix)])
    else:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            prefix = _prefix([m.name for m in members], folder, archive)
            chosen = [m for m in members if _under(m.name, prefix)]
            tf.extractall(dest, chosen, filter="data")
    return dest.joinpath(*prefix)


def _prefix(names: list[str], folder: str, archive: Path) -> tuple[str, ...]:
    hits = [
        parts[: i + 1]
        for parts in (PurePosixPath(n).parts for n in names)
        for i, part in enumerate(parts[:-1])
        if part.lower() == folder.lower()
    ]
    if not hits:
        tops = sorted({PurePosixPath(n).parts[0] for n in names if n})[:10]
        raise DataError(f"{archive.name} has no folder {folder}/ (top level: {', '.join(tops)})")
    return min(hits, key=len)


def _under(name: str, prefix: tuple[str, ...]) -> bool:
    return PurePosixPath(name).parts[: len(prefix)] == prefix
