"""The feed's forked decoder: the same hashes and pixels as reading each file, decoded in a
child process within the ring's budget, and a child that fails or dies costs no result."""

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
from srbench.data import forked as forked_module
from srbench.data.feed import ImageFeed
from srbench.data.forked import fork_is_safe
from srbench.data.io import decode_image, sha256_file

PngFiles = Callable[..., list[Path]]  # the fixtures of tests/data/conftest.py
WaitFor = Callable[..., None]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the forked decoder is Linux's")

PAGE = os.sysconf("SC_PAGE_SIZE")


class _Log:
    """Records which process decoded which file, across the fork (an append-only file), and
    can make chosen decodes fail or end the process that runs them."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.file = tmp_path / "decodes.log"
        self.file.touch()
        self.fail: dict[str, BaseException] = {}
        monkeypatch.setattr(feed_module, "decode_image", self)

    def __call__(self, path: Path, blob: bytes | None = None) -> np.ndarray:
        with open(self.file, "a") as fh:
            fh.write(f"{os.getpid()} {path.name}\n")
        if path.name in self.fail:
            raise self.fail[path.name]
        return decode_image(path, blob)

    def by_child(self) -> list[str]:
        """The files decoded by a process other than this one, in order."""
        rows = [line.split() for line in self.file.read_text().splitlines()]
        return [name for pid, name in rows if int(pid) != os.getpid()]

    def by_parent(self) -> list[str]:
        rows = [line.split() for line in self.file.read_text().splitlines()]
        return [name for pid, name in rows if int(pid) == os.getpid()]


def _children() -> set[int]:
    """This thread's child processes, reaped or not."""
    path = Path(f"/proc/{os.getpid()}/task/{threading.get_native_id()}/children")
    return {int(pid) for pid in path.read_text().split()}


_OTHERS: set[int] = set()  # children of this thread that earlier tests left running


@pytest.fixture(autouse=True)
def _others() -> None:
    _OTHERS.clear()
    _OTHERS.update(_children())


def _state(pid: int) -> str:
    """A process's state letter ("Z": exited, not yet reaped), "gone" once reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def _child_has_ended() -> bool:
    """The feed's child has exited (a zombie until the feed reaps it): all it reported is in
    the pipe."""
    return [_state(pid) for pid in _children() - _OTHERS] == ["Z"]


def test_a_child_decodes_each_file_once_in_order_with_the_same_hashes_and_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    log = _Log(tmp_path, monkeypatch)
    paths = png_files(tmp_path / "set", 6)
    with ImageFeed(paths, process=True) as feed:
        wait_for(_child_has_ended)
        for path in reversed(paths):  # any order
            assert feed.sha256(path) == sha256_file(path)
            assert np.array_equal(feed.pixels(path), decode_image(path))
    assert log.by_child() == [p.name for p in paths]
    assert log.by_parent() == []


def test_the_ring_holds_at_most_its_budget_and_its_pages_are_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    log = _Log(tmp_path, monkeypatch)
    paths = []
    for k in range(9):  # one page and two pages of the ring, in turn
        paths += png_files(tmp_path / f"set{k}", 1, (20, 30) if k % 2 == 0 else (40, 40))
    with ImageFeed(paths, process=True, budget=4 * PAGE) as feed:
        wait_for(lambda: len(log.by_child()) == 4)
        time.sleep(0.3)
        # 1 + 2 + 1 pages in the ring, the fourth image decoded and waiting for room
        assert len(log.by_child()) == 4
        assert [feed.sha256(p) for p in paths] == [sha256_file(p) for p in paths]
        for k, path in enumerate(paths):  # the ring wraps around, skipping its last page
            # the child reports image k before it starts on image k + 1
            wait_for(lambda k=k: len(log.by_child()) >= k + 2 or _child_has_ended())
            assert np.array_equal(feed.pixels(path), decode_image(path))
    assert len(log.by_child()) == len(paths)
    assert log.by_parent() == []


def test_a_discarded_or_claimed_image_is_not_decoded_by_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    log = _Log(tmp_path, monkeypatch)
    paths = png_files(tmp_path / "set", 6)
    with ImageFeed(paths, process=True, budget=PAGE) as feed:
        wait_for(lambda: len(log.by_child()) == 2)  # one in the ring, one waiting for room
        assert np.array_equal(feed.pixels(paths[1]), decode_image(paths[1]))  # the caller's
        wait_for(lambda: "img02.png" in log.by_child())  # the child let image 1 go
        feed.discard(paths[3])
        assert np.array_equal(feed.pixels(paths[4]), decode_image(paths[4]))
        assert np.array_equal(feed.pixels(paths[0]), decode_image(paths[0]))
        wait_for(lambda: "img05.png" in log.by_child())  # so image 2 is in the ring
        assert np.array_equal(feed.pixels(paths[2]), decode_image(paths[2]))
        wait_for(_child_has_ended)
        assert np.array_equal(feed.pixels(paths[5]), decode_image(paths[5]))
    assert log.by_child() == ["img00.png", "img01.png", "img02.png", "img05.png"]
    assert log.by_parent() == ["img01.png", "img04.png"]


def test_the_pages_of_a_taken_image_go_back_to_the_system(
    tmp_path: Path, png_files: PngFiles, wait_for: WaitFor
) -> None:
    paths = png_files(tmp_path / "set", 4, (256, 256))  # 192 KiB each

    def shared_kib() -> int:
        status = Path("/proc/self/status").read_text()
        return int(status.split("RssShmem:")[1].split()[0])

    with ImageFeed(paths, process=True) as feed:
        wait_for(_child_has_ended)
        before = shared_kib()
        for path in paths:
            feed.pixels(path)
        # copying an image out maps its pages here; giving them back unmaps them
        assert shared_kib() - before < 192


@pytest.mark.parametrize("ending", [SystemExit("killed"), MemoryError("out of memory")])
def test_a_child_that_fails_or_dies_costs_no_image(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ending: BaseException,
    png_files: PngFiles,
    wait_for: WaitFor,
) -> None:
    log = _Log(tmp_path, monkeypatch)
    paths = png_files(tmp_path / "set", 4)
    log.fail["img01.png"] = ending  # SystemExit ends the child; MemoryError fails one image
    with ImageFeed(paths, process=True) as feed:
        wait_for(_child_has_ended)
        log.fail.clear()  # the parent's own decode of it succeeds
        for path in paths:
            assert np.array_equal(feed.pixels(path), decode_image(path))
    if isinstance(ending, SystemExit):
        assert log.by_child() == ["img00.png", "img01.png"]
        assert log.by_parent() == ["img01.png", "img02.png", "img03.png"]
    else:
        assert log.by_child() == [p.name for p in paths]
        assert log.by_parent() == ["img01.png"]


def test_closing_stops_and_reaps_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, png_files: PngFiles, wait_for: WaitFor
) -> None:
    log = _Log(tmp_path, monkeypatch)
    paths = png_files(tmp_path / "set", 6)
    feed = ImageFeed(paths, process=True, budget=PAGE)
    wait_for(lambda: len(log.by_child()) == 2)  # waiting for room that never comes
    started = time.monotonic()
    feed.close()
    assert time.monotonic() - started < 2
    assert _children() - _OTHERS == set()  # no zombie left behind
    kills: list[int] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: kills.append(pid))
    feed.close()  # as the run and then the CLI close it
    assert kills == []  # its pid may already be another process's


def test_fork_is_safe_only_without_other_threads() -> None:
    code = "from srbench.data.forked import fork_is_safe; print(fork_is_safe())"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "True"
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not fork_is_safe()
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("cause", ["no process to spare", "not Linux"])
def test_a_fork_that_cannot_be_had_leaves_the_work_to_a_thread(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    png_files: PngFiles,
    wait_for: WaitFor,
    cause: str,
) -> None:
    log = _Log(tmp_path, monkeypatch)
    paths = png_files(tmp_path / "set", 3)

    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    if cause == "not Linux":
        monkeypatch.setattr(forked_module.sys, "platform", "darwin")
    else:
        monkeypatch.setattr(os, "fork", refuse)
    with ImageFeed(paths, process=True) as feed:
        wait_for(lambda: len(log.by_parent()) == 3)  # the feed's thread, ahead of any ask
        for path in paths:
            assert np.array_equal(feed.pixels(path), decode_image(path))
    assert log.by_child() == []


_KILLS_ITSELF = """
import os, signal, sys, threading, time
from pathlib import Path
from srbench.data import feed
from srbench.data.io import decode_image

def slow(path, blob=None):
    time.sleep(0.05)  # 200 images: 10 s of work for the child
    return decode_image(path, blob)

feed.decode_image = slow
holding = sys.argv[1] == "holding"
paths = [Path(p) for p in sys.argv[2:]]
image_feed = feed.ImageFeed(paths, process=True, budget=1 if holding else 1 << 30)
children = f"/proc/{os.getpid()}/task/{threading.get_native_id()}/children"
print(open(children).read().split()[0], flush=True)
time.sleep(0.3)
if holding:  # the child waits for room, looking at the control array under its lock
    image_feed._child._control.get_lock().acquire()
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("how", ["busy", "holding"])
def test_a_child_ends_soon_after_its_parent_is_killed(
    tmp_path: Path, png_files: PngFiles, wait_for: WaitFor, how: str
) -> None:
    # busy: decoding, it learns at its next image; holding: the parent died holding the
    # control lock (SIGKILL inside its few microseconds), and the child must not wait forever
    paths = png_files(tmp_path / "set", 200)
    out = tmp_path / "out.txt"  # a file, not a pipe: the child holds its copy of it open
    with open(out, "w") as fh:
        parent = subprocess.Popen(
            [sys.executable, "-c", _KILLS_ITSELF, how, *map(str, paths)], stdout=fh, stderr=fh
        )
        assert parent.wait(timeout=60) == -9, out.read_text()
    child = int(out.read_text().split()[0])

    def ended() -> bool:  # gone, or a zombie its new parent has yet to reap
        return _state(child) in ("Z", "gone")

    wait_for(ended, seconds=3.0)


def test_a_control_lock_that_is_never_released_does_not_hang_the_parent(
    tmp_path: Path, png_files: PngFiles, wait_for: WaitFor
) -> None:
    paths = png_files(tmp_path / "set", 4)
    feed = ImageFeed(paths, process=True, budget=PAGE)
    time.sleep(0.3)  # the first image in the ring, the second waiting for room
    # a holder that never lets go, as a child killed inside the lock's few microseconds
    # would be (no public way to time that): another thread here takes it
    lock = feed._child._control.get_lock()  # type: ignore[union-attr]
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait()

    taken: list[bool] = []

    def take() -> None:
        for path in (paths[2], paths[0], paths[1], paths[3]):
            taken.append(np.array_equal(feed.pixels(path), decode_image(path)))
        feed.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    taker = threading.Thread(target=take)
    try:
        taker.start()
        taker.join(timeout=5)  # one wait for the lock, then none
        assert not taker.is_alive(), "the parent hung on the lock"
    finally:
        release.set()
        holder.join()
        taker.join()
    assert taken == [True] * 4
