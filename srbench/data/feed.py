"""Hashes and decodes a run's image files ahead of their use, in a forked child process or
on a background thread.

`srbench run` starts its feed before it imports torch. Those imports keep one core busy for
about 1.3 s, and the feed uses the other core meanwhile. Where it is safe (Linux, no other
thread yet) the CLI's feed works in a forked child (`srbench.data.forked`), which has a GIL
of its own: on the 2-core VM it has decoded 189-192 of the 219 test-set images when the
first one is needed. A feed thread gets the GIL back from the importing thread only at its
switch intervals and had decoded 124-127. During the run the feed stays ahead of the loader
threads. They take what it has ready and decode themselves anything it has not reached.

The feed reads each file once, in order, and hashes and decodes it. It holds at most
`budget` bytes of pixels that nobody has taken, so memory does not grow with the dataset.
While that budget is full it hashes the files ahead, because a run's plan needs the hashes
of a whole dataset before its first image. A caller waits only for an image the feed's
thread is decoding at that moment (never for the child, nor for an image not started), so a
slow or stopped feed cannot hold up a run. Needs no torch.

The feed's first act is to load the compiled PNG decoder (`srbench.data.png`) in the
caller's thread, so that a forked child inherits it loaded. A process's first compiled call
starts numba, 0.5-0.8 s that holds the GIL; on the feed's thread it would slow the imports
it is meant to overlap (whole bicubic table, 4 alternating pairs on the 2-core VM: 9.38 s
mean wall with the decoder loaded by the feed, 8.99 s with it loaded first).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import warnings
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srbench.data.forked import ForkedDecoder, Region
from srbench.data.io import decode_image, png, sha256_file
from srbench.data.sets import DatasetSpec
from srbench.errors import DataError

__all__ = ["DEFAULT_BUDGET", "ImageFeed", "feed_images"]

DEFAULT_BUDGET = 320 << 20  # bytes: the 219 images of Set5, Set14, B100 and Urban100 are 300 MB


@dataclass(slots=True)
class _Slot:
    """One image being decoded or decoded: its pixels or its error once `done`."""

    done: bool = False
    pixels: np.ndarray | None = None
    error: Exception | None = None
    held: int = 0  # bytes counted against the budget until taken
    region: Region | None = None  # where a forked decoder's pixels lie in its ring


class ImageFeed:
    """SHA-256s and decoded pixels of `paths`, computed ahead on one thread or in a forked
    child process; a context manager.

    `background=False` computes everything in the caller, when asked (`--workers 0`);
    `process=True` works ahead in a forked child instead of a thread (`srbench.data.forked`;
    ask for it only where `fork_is_safe`; a thread where the fork cannot be had). A path the
    feed was not given is simply computed when asked.
    """

    def __init__(
        self,
        paths: Iterable[Path],
        *,
        background: bool = True,
        budget: int = DEFAULT_BUDGET,
        process: bool = False,
    ) -> None:
        self._paths = list(dict.fromkeys(Path(p) for p in paths))
        self._index = {path: k for k, path in enumerate(self._paths)}
        self._budget = budget
        self._cond = threading.Condition()
        self._shas: dict[Path, str | DataError] = {}
        self._slots: dict[Path, _Slot] = {}
        self._gone: set[Path] = set()  # taken or discarded: not to be decoded ahead again
        self._held = 0
        self._closed = False
        self._child: ForkedDecoder | None = None
        if background and self._paths:
            if png is not None:
                png.prepare()  # here: on the feed's thread it would contend with the imports
            if process:
                with contextlib.suppress(OSError):  # not Linux, or nothing to spare: a thread
                    self._child = ForkedDecoder(self._paths, budget, decode_image)
            if self._child is None:
                threading.Thread(target=self._ahead, name="srbench-feed", daemon=True).start()

    def __enter__(self) -> ImageFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop working ahead and let go of the pixels nobody took."""
        if self._child is not None:
            self._child.close()  # first: no region is rewritten while a taker copies it
        with self._cond:
            self._closed = True
            for path, slot in list(self._slots.items()):
                if slot.done:
                    self._release(path, slot)
            self._cond.notify_all()

    def sha256(self, path: Path) -> str:
        """The file's SHA-256 (DataError if it cannot be read)."""
        path = Path(path)
        self._absorb()
        with self._cond:
            found = self._shas.get(path)
        if found is None:
            found = self._hash(path)
        if isinstance(found, DataError):
            raise found
        return found

    def pixels(self, path: Path) -> np.ndarray:
        """The decoded uint8 (C, H, W) pixels, as `decode_image` gives them (or its error)."""
        path = Path(path)
        self._absorb()
        with self._cond:
            slot = self._slots.get(path)
            mine = slot is None
            if slot is None:
                slot = self._slots[path] = _Slot()  # claimed: the feed will not decode it
                self._skip(path)
        if mine:
            self._fill(slot, path, None)
        with self._cond:
            while not slot.done:
                self._cond.wait()
            if slot.region is not None:  # the taker's own copy, for any other taker too
                slot.pixels = slot.pixels.copy()  # type: ignore[union-attr]
                self._free(slot)
            self._release(path, slot)
        if slot.error is not None:
            raise slot.error
        return slot.pixels  # type: ignore[return-value]

    def discard(self, path: Path) -> None:
        """The run will not need this image: do not decode it, or let go of its pixels."""
        path = Path(path)
        self._absorb()
        with self._cond:
            slot = self._slots.get(path)
            if slot is None:
                self._gone.add(path)
                self._skip(path)
            elif slot.done:
                self._release(path, slot)

    def _release(self, path: Path, slot: _Slot) -> None:
        """Forget `path`'s done `slot` if it is still the current one, and free its share of
        the budget (lock held)."""
        if self._slots.get(path) is slot:
            del self._slots[path]
            self._held -= slot.held
            slot.held = 0
            if slot.region is not None:
                slot.pixels = None
                self._free(slot)
        self._gone.add(path)
        self._cond.notify_all()

    def _absorb(self) -> None:
        """Take in what the forked decoder has reported: hashes, and pixels nobody has
        claimed (the others' bytes go back to it at once)."""
        if self._child is None:
            return
        for report in self._child.reports():
            with self._cond:
                if report.sha256 is not None:
                    self._shas.setdefault(report.path, report.sha256)
                elif report.path in self._slots or report.path in self._gone or self._closed:
                    self._child.free(report.region)  # type: ignore[arg-type]
                else:
                    self._slots[report.path] = _Slot(True, report.pixels, region=report.region)
                    self._cond.notify_all()

    def _skip(self, path: Path) -> None:
        """Tell the forked decoder, if any, that `path` is claimed or not needed."""
        if self._child is not None and path in self._index:
            self._child.skip(self._index[path])

    def _free(self, slot: _Slot) -> None:
        """Give `slot`'s bytes of the ring back to the forked decoder."""
        self._child.free(slot.region)  # type: ignore[union-attr, arg-type]
        slot.region = None

    def _hash(self, path: Path, blob: bytes | None = None) -> str | DataError:
        try:
            found: str | DataError = (
                sha256_file(path) if blob is None else hashlib.sha256(blob).hexdigest()
            )
        except DataError as exc:
            found = exc
        with self._cond:
            return self._shas.setdefault(path, found)

    def _fill(self, slot: _Slot, path: Path, blob: bytes | None) -> None:
        try:
            slot.pixels = decode_image(path, blob)
        except Exception as exc:  # the caller gets what decoding it would have raised
            slot.error = exc
        except BaseException as exc:
            slot.error = _stopped(path, exc)
            raise
        finally:
            with self._cond:
                slot.done = True
                self._cond.notify_all()

    def _ahead(self) -> None:
        """Read, hash and decode each file in order; while the budget is full, hash ahead."""
        unhashed = deque(self._paths)
        for path in self._paths:
            slot = self._claim(path, unhashed)
            if slot is None:
                continue
            try:
                self._decode_ahead(path, slot)
            except BaseException as exc:  # a dying feed fails the image, never hangs its taker
                with self._cond:
                    if not slot.done:
                        slot.error = exc if isinstance(exc, Exception) else _stopped(path, exc)
                        slot.done = True
                    self._closed = True
                    self._cond.notify_all()
                raise

    def _decode_ahead(self, path: Path, slot: _Slot) -> None:
        try:
            blob: bytes | None = path.read_bytes()  # one read for both: the GIL is contended
        except OSError:
            blob = None  # hashing and decoding read it again and report why they cannot
        if path not in self._shas:
            self._hash(path, blob)
        self._fill(slot, path, blob)
        with self._cond:
            if self._closed:
                self._release(path, slot)
            elif self._slots.get(path) is slot and slot.pixels is not None:
                slot.held = slot.pixels.nbytes
                self._held += slot.held

    def _claim(self, path: Path, unhashed: deque[Path]) -> _Slot | None:
        """A slot for the feed to decode `path` into once the budget allows, hashing files
        ahead meanwhile; None when `path` is taken, claimed or discarded, or the feed closed."""
        while True:
            with self._cond:
                if self._closed:
                    return None
                if self._held < self._budget:
                    if path in self._slots or path in self._gone:
                        return None
                    slot = self._slots[path] = _Slot()
                    return slot
                while unhashed and unhashed[0] in self._shas:
                    unhashed.popleft()
                if not unhashed:
                    self._cond.wait()
                    continue
                spare = unhashed.popleft()
            self._hash(spare)


def _stopped(path: Path, exc: BaseException) -> RuntimeError:
    return RuntimeError(f"decoding {path} was stopped ({type(exc).__name__}: {exc})")


def feed_images(
    specs: Iterable[DatasetSpec],
    data_root: Path | None,
    scales: Iterable[int],
    *,
    background: bool = True,
    quiet: bool = False,
    process: bool = False,
) -> ImageFeed:
    """A feed of every image file `specs` have at `scales`, in the order a run takes them;
    `quiet` lists the sets without their warnings, for a caller that lists them again."""
    scales = tuple(scales)
    with warnings.catch_warnings() if quiet else contextlib.nullcontext():
        if quiet:
            warnings.simplefilter("ignore")
        paths = [ref.path for spec in specs for ref, _ in spec.image_files(data_root, scales)]
    return ImageFeed(paths, background=background, process=process)
