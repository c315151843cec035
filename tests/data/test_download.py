"""fetch_dataset without network: offline errors, extraction, verification before install."""

from __future__ import annotations

import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.data import download
from srbench.data.download import Source, datasets_cache_dir, fetch_dataset
from srbench.data.manifest import verify
from srbench.data.sets import SET5
from srbench.errors import DataError, UnknownNameError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local(monkeypatch: pytest.MonkeyPatch, key: str, archives: dict[str, Path | None]) -> None:
    """Serve `key`'s sources from local files (None: that source fails as if offline)."""
    sources = tuple(
        Source(f"https://example.invalid/{name}", name, folder, None, "test")
        for name, folder in ((n, "Set5" if n.endswith(".tar") else "Set5_HR") for n in archives)
    )
    monkeypatch.setitem(download.SOURCES, key, sources)

    def fake_download(source: Source, folder: Path) -> Path:
        path = archives[source.archive]
        if path is None:
            raise OSError("Connection refused")
        return path

    monkeypatch.setattr(download, "_download", fake_download)


def test_offline_error_names_the_url_and_the_manual_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/benchmark.tar"
    monkeypatch.setitem(download.SOURCES, "set5", (Source(url, "b.tar", "Set5", None, "test"),))
    start = time.monotonic()
    with pytest.raises(DataError, match=r"could not download Set5; every source failed") as e:
        fetch_dataset("set5", cache_dir=tmp_path)
    assert time.monotonic() - start < 15
    assert url in str(e.value)
    for text in (str(tmp_path / "archives"), "b.tar", "DIR/Set5/", "--data-root", "HR/"):
        assert text in e.value.hint
    assert not (tmp_path / "Set5").exists()


def test_downloader_has_a_short_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pooch

    seen = {}

    def fake_retrieve(
        url: str, known_hash: str, fname: str, path: Path, downloader: pooch.HTTPDownloader
    ) -> str:
        seen.update(downloader.kwargs, url=url, known_hash=known_hash)
        return str(tmp_path / fname)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    download._download(download.SOURCES["urban100"][1], tmp_path)
    assert seen["timeout"] == download.TIMEOUT and max(download.TIMEOUT) <= 60
    assert seen["known_hash"] == "md5:65d9d84a34b72c6f7ca1e26a12df1e4c"


def test_unknown_and_bundled_names(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match=r"no dataset named 'set55'"):
        fetch_dataset("set55", cache_dir=tmp_path)
    with pytest.raises(DataError, match=r"no download source for Samples"):
        fetch_dataset("samples", cache_dir=tmp_path)


def test_cached_copy_is_not_downloaded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Set5").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "Set5" / "baby.png")
    _local(monkeypatch, "set5", {"b.tar": None})
    assert fetch_dataset("Set5", cache_dir=tmp_path) == tmp_path


def test_cache_dir_follows_srbench_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    assert datasets_cache_dir() == tmp_path / "datasets"
    monkeypatch.delenv("SRBENCH_HOME")
    assert datasets_cache_dir().parts[-2:] == ("srbench", "datasets")


def test_a_copy_that_fails_the_manifest_is_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "fake.tar"
    image = tmp_path / "baby.png"
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(image)
    with tarfile.open(archive, "w") as tf:
        tf.add(image, "benchmark/Set5/HR/baby.png")
    _local(monkeypatch, "set5", {"b.tar": archive})
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"is not the canonical Set5: baby: mismatch"):
        fetch_dataset("set5", cache_dir=cache)
    assert sorted(p.name for p in cache.iterdir()) == []  # no Set5/, no staging left


def test_archive_without_the_set_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Set14_HR/x.png", b"")
    _local(monkeypatch, "set5", {"hf.zip": archive})
    with pytest.raises(
        DataError, match=r"other\.zip has no folder Set5_HR/ \(top level: Set14_HR\)"
    ):
        fetch_dataset("set5", cache_dir=tmp_path / "cache")


def test_a_broken_archive_is_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "page.tar"
    archive.write_text("<html>rate limited</html>" * 40)
    _local(monkeypatch, "set5", {"b.tar": archive})
    with pytest.raises(DataError, match=r"example\.invalid/b\.tar \(test\): .*"):
        fetch_dataset("set5", cache_dir=tmp_path / "cache")
    assert not archive.exists()


def _real_archives(data_root: Path, tmp_path: Path) -> tuple[Path, Path]:
    tar, zip_ = tmp_path / "benchmark.tar", tmp_path / "Set5_HR.zip"
    with tarfile.open(tar, "w") as tf, zipfile.ZipFile(zip_, "w") as zf:
        for path in sorted((data_root / "Set5").glob("*.png")):
            tf.add(path, f"benchmark/Set5/HR/{path.name}")
            tf.add(path, f"benchmark/Set5/LR_bicubic/X2/{path.stem}x2.png")
            zf.write(path, f"Set5_HR/{path.name}")
    return tar, zip_


def test_real_set5_from_an_edsr_tar(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tar, _ = _real_archives(data_root, tmp_path)
    _local(monkeypatch, "set5", {"offline.tar": None, "b.tar": tar})
    root = fetch_dataset("set5", cache_dir=tmp_path / "cache")
    assert SET5.locate(root, 2).layout == "edsr"
    assert verify(SET5, root).ok


def test_real_set5_from_a_flat_zip(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, zip_ = _real_archives(data_root, tmp_path)
    _local(monkeypatch, "set5", {"hf.zip": zip_})
    root = fetch_dataset("set5", cache_dir=tmp_path / "cache")
    assert [r.image_id for r in SET5.images(root, 4)] == [
        "baby",
        "bird",
        "butterfly",
        "head",
        "woman",
    ]
    assert verify(SET5, root).ok


def test_import_is_light() -> None:
    code = (
        "import sys, srbench.data; "
        "print(sorted(m for m in ('pooch', 'platformdirs', 'skimage', 'requests') "
        "if m in sys.modules))"
    )
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "[]"
