"""ImageFeed: the same hashes and pixels as reading each file, ahead of time, within a budget."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from srbench.data import feed as feed_module
from srbench.data.feed import ImageFeed, feed_images
from srbench.data.io import decode_image, sha256_file
from srbench.errors import DataError
from srbench.registry import datasets

PngFiles = Callable[..., list[Path]]  # the fixtures of tests/data/conftest.py
WaitFor = Callable[..., None]


class _Decodes:
    """Counts the decodes per file, and can hold or fail chosen ones."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, int] = {}
        self.order: list[Path] = []
        self.fail: dict[str, BaseException] = {}
        self.lock = threading.Lock()
        monkeypatch.setattr(feed_module, "decode_image", self)

    def __call__(self, path: Path, blob: bytes | None = None) -> np.ndarray:
        with self.lock:
            self.calls[path.name] = self.calls.get(path.name, 0) + 1
            self.order.append(path)
        if path.name in self.fail:
            raise self.fail[path.name]
        return decode_image(path, blob)

    def total(self) -> int:
        with self.lock:
            return sum(self.calls.values())


@pytest.mark.parametrize("background", [True, False])
def test_hashes_and_pixels_equal_reading_each_file(
    tmp_path: Path, background: bool, png_files: PngFiles
) -> None:
    paths = png_files(tmp_path, 6)
    with ImageFeed(paths, background=background) as feed:
        for path in paths:
            assert feed.sha256(path) == sha256_file(path)
            assert np.array_equal(feed.pixels(path), decode_image(path))
        other = png_files(tmp_path / "other", 1)[0]  # not given to the feed: computed when asked
        assert feed.sha256(other) == sha256_file(other)
        assert np.array_equal(feed.pixels(other), decode_image(other))


def test_without_a_thread_nothing_is_decoded_until_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles
) -> None:
    decodes = _Decodes(monkeypatch)
    paths = png_files(tmp_path, 3)
    with ImageFeed(paths, background=False) as feed:
        time.sleep(0.1)
        assert decodes.total() == 0
        feed.pixels(paths[1])
        assert decodes.calls == {"img01.png": 1}


def test_the_feed_decodes_ahead_in_order_and_each_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    decodes = _Decodes(monkeypatch)
    paths = png_files(tmp_path, 5)
    with ImageFeed(paths) as feed:
        wait_for(lambda: decodes.total() == 5)
        for path in paths:
            feed.pixels(path)
    assert decodes.calls == {p.name: 1 for p in paths}


def test_pixels_held_ahead_stay_within_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    decodes = _Decodes(monkeypatch)
    paths = png_files(tmp_path, 6)
    with ImageFeed(paths, budget=1) as feed:  # any one image is over budget: one at a time
        wait_for(lambda: decodes.total() == 1)
        time.sleep(0.2)
        assert decodes.total() == 1  # it waits for the first to be taken
        feed.pixels(paths[0])
        wait_for(lambda: decodes.total() == 2)
        time.sleep(0.2)
        assert decodes.total() == 2
        # every file is hashed meanwhile: a run's plan needs a whole dataset's hashes first
        assert [feed.sha256(p) for p in paths] == [sha256_file(p) for p in paths]
        assert decodes.total() == 2


def test_a_discarded_image_is_never_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    decodes = _Decodes(monkeypatch)
    paths = png_files(tmp_path, 3)
    with ImageFeed(paths, budget=1) as feed:
        wait_for(lambda: decodes.total() == 1)
        feed.discard(paths[1])
        feed.pixels(paths[0])
        feed.pixels(paths[2])
    assert "img01.png" not in decodes.calls


@pytest.mark.parametrize(
    "process",
    [False, pytest.param(True, marks=pytest.mark.skipif(sys.platform != "linux", reason="fork"))],
)
def test_a_bad_file_gives_the_errors_reading_it_would(
    tmp_path: Path, png_files: PngFiles, process: bool
) -> None:
    good = png_files(tmp_path, 1)[0]
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    missing = tmp_path / "missing.png"
    with ImageFeed([good, bad, missing], process=process) as feed:
        with pytest.raises(DataError, match=r"bad\.png"):
            feed.pixels(bad)
        with pytest.raises(DataError, match=r"missing\.png") as caught:
            feed.sha256(missing)
        with pytest.raises(DataError, match="does not exist"):
            feed.pixels(missing)
        assert np.array_equal(feed.pixels(good), decode_image(good))
    with pytest.raises(DataError) as direct:
        sha256_file(missing)
    assert str(caught.value) == str(direct.value)


def test_an_image_whose_decode_fails_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    decodes = _Decodes(monkeypatch)
    paths = png_files(tmp_path, 3)
    decodes.fail["img01.png"] = MemoryError("out of memory")
    with ImageFeed(paths) as feed:
        wait_for(lambda: decodes.total() == 3)
        with pytest.raises(MemoryError, match="out of memory"):
            feed.pixels(paths[1])
        assert np.array_equal(feed.pixels(paths[2]), decode_image(paths[2]))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_feed_thread_that_dies_fails_its_image_and_hangs_no_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    decodes = _Decodes(monkeypatch)
    paths = png_files(tmp_path, 3)
    decodes.fail["img00.png"] = SystemExit("killed")  # not an Exception: the thread dies
    with ImageFeed(paths) as feed:
        wait_for(lambda: decodes.total() == 1)
        with pytest.raises(RuntimeError, match="killed"):
            feed.pixels(paths[0])
        for path in paths[1:]:  # decoded by the caller now
            assert np.array_equal(feed.pixels(path), decode_image(path))
        # its end is reported to this test, not to whichever test runs next
        wait_for(lambda: all(t.name != "srbench-feed" for t in threading.enumerate()))


def test_a_feed_of_sets_decodes_their_files_in_run_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    decodes = _Decodes(monkeypatch)
    set5 = png_files(tmp_path / "Set5", 2)
    set14 = png_files(tmp_path / "Set14", 3)
    specs = [datasets.get("set5"), datasets.get("set14")]
    with pytest.warns(UserWarning), feed_images(specs, tmp_path, (2, 3)):
        wait_for(lambda: decodes.total() == 5)
    assert decodes.order == set5 + set14


def test_the_run_command_starts_its_feed_before_importing_torch() -> None:
    # numba is the feed's own: its PNG decoder is compiled (srbench.data.png)
    code = (
        "import sys, srbench.cli.run, srbench.data.feed, srbench.engine.config; "
        "print(sorted(m for m in ('torch', 'pandas', 'numba') if m in sys.modules))"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True).strip()
    assert out == "['numba']"


def test_a_feed_of_sets_in_the_download_cache_starts_before_torch_is_imported(
    tmp_path: Path, png_files: PngFiles
) -> None:
    first = png_files(tmp_path / "home" / "datasets" / "Set5", 5)[0]
    code = (
        "import sys; from srbench.data.feed import feed_images; "
        "from srbench.registry import datasets; "
        "feed = feed_images([datasets.get('set5')], None, (2,), quiet=True); "
        f"print(len(feed.pixels({str(first)!r})), 'torch' in sys.modules); feed.close()"
    )
    env = {**os.environ, "SRBENCH_HOME": str(tmp_path / "home")}
    env.pop("SRBENCH_DATA_ROOT", None)
    out = subprocess.check_output([sys.executable, "-c", code], text=True, env=env)
    assert out.split() == ["3", "False"]
