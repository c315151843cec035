"""The image feed's reading, hashing and decoding in a forked child process (Linux).

While `srbench run` imports torch, the importing thread holds the GIL for about 1.3 s and a
feed thread gets it back only at each switch interval: on the 2-core VM a feed thread decoded
124-127 of the bicubic table's 219 images in that time, a forked child, with a GIL of its
own, 189-192. The child is forked before torch is imported, with the decoder already loaded,
and does what the feed thread would: each file in order, read once, hashed and decoded into
a ring of shared memory, hashing files ahead while the ring is full. It reports over a pipe,
which the parent reads whenever it asks the feed for something (a thread reading it would
be as starved as a feed thread). The parent copies an image out when it is taken and gives
its pages back (`MADV_REMOVE`), so memory holds only the images not yet taken.

The parent never waits for the child: an image the child has not reported is decoded by the
caller, as with a feed thread, and the child is told to skip it. So a slow, failing or dead
child costs time, never a result. The child has no torch and writes nothing but the ring and
the pipe; it leaves with `os._exit`, so the parent's buffers and exit handlers are the
parent's alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

__all__ = ["ForkedDecoder", "Region", "Report", "fork_is_safe"]

_STOP, _FREED = 0, 1  # control slots before the per-image skip flags
_POLL = 0.002  # s between looks at the control array while the ring is full
_LOCK_WAIT = 1.0  # s the parent waits for the control lock, which the child holds for µs


def fork_is_safe() -> bool:
    """Forking is cheap and safe here: Linux, and no other Python thread that could hold a
    lock the child would need."""
    return sys.platform == "linux" and threading.active_count() == 1


@dataclass(frozen=True, slots=True)
class Report:
    """One thing the child did: a file's SHA-256, or its pixels in a region of the ring."""

    path: Path
    sha256: str | None
    pixels: np.ndarray | None
    region: Region | None


@dataclass(slots=True)
class Region:
    """Pages of the ring that one decoded image occupies until the parent lets go of them."""

    offset: int
    span: int  # whole pages
    end: int  # the child's running count of ring bytes used, up to and including this image
    freed: bool = False


class ForkedDecoder:
    """A child process that reads, hashes and decodes `paths` in order into a shared ring of
    `budget` bytes; `reports` hands the parent what it has done so far. OSError where it
    cannot be had (not Linux, no process or memory to spare)."""

    def __init__(
        self, paths: Sequence[Path], budget: int, decode: Callable[[Path, bytes], np.ndarray]
    ) -> None:
        if sys.platform != "linux":  # it gives pages back with Linux's MADV_REMOVE
            raise OSError(f"the forked decoder needs Linux, not {sys.platform}")
        ctx = multiprocessing.get_context("fork")
        self._paths = list(paths)
        self._ring = mmap.mmap(-1, _pages(max(budget, 1)))
        self._control = ctx.Array("q", 2 + len(self._paths))  # lock-guarded: memory barriers
        self._regions: deque[Region] = deque()
        self._lock = threading.Lock()
        self._conn, send = ctx.Pipe(duplex=False)
        self._ended = False
        self._abandoned = False
        self._pid: int | None = os.fork()
        if self._pid == 0:  # the child
            status = 1
            try:
                self._conn.close()
                _child(self._paths, self._ring, self._control, send, decode)
                status = 0
            finally:
                os._exit(status)
        send.close()

    def reports(self) -> list[Report]:
        """What the child has sent since the last call, without waiting: hashes and pixels
        (views of the ring, each with the region to `free` once copied out)."""
        found: list[Report] = []
        with self._lock:
            while not self._ended:
                try:
                    if not self._conn.poll():
                        break
                    kind, index, *rest = self._conn.recv()
                except (EOFError, OSError):  # the child has ended, however it ended
                    self._ended = True
                    self._conn.close()
                    break
                path = self._paths[index]
                if kind == "sha":
                    found.append(Report(path, rest[0], None, None))
                    continue
                offset, shape, end = rest
                count = int(np.prod(shape))
                region = Region(offset, _pages(count), end)
                self._regions.append(region)
                view = np.frombuffer(self._ring, np.uint8, count, offset)
                found.append(Report(path, None, view.reshape(shape), region))
        return found

    def skip(self, index: int) -> None:
        """The parent decodes (or does not need) image `index`: the child need not."""
        self._set(2 + index, 1)

    def free(self, region: Region) -> None:
        """The parent has let go of `region` (copied out or discarded): its pages go back to
        the system, and the child may reuse it and every region before it that is free too."""
        self._ring.madvise(mmap.MADV_REMOVE, region.offset, region.span)
        with self._lock:
            region.freed = True
            end = None
            while self._regions and self._regions[0].freed:
                end = self._regions.popleft().end
        if end is not None:
            self._set(_FREED, end)

    def _set(self, slot: int, value: int) -> None:
        """Write one control slot, unless the child has been given up: a child killed while
        it held the lock (by the OOM killer, say) must not hang the parent."""
        lock = self._control.get_lock()
        if self._abandoned or not lock.acquire(timeout=_LOCK_WAIT):
            self._abandoned = True  # from now on the parent decodes what it needs itself
            return
        try:
            self._control.get_obj()[slot] = value
        finally:
            lock.release()

    def close(self) -> None:
        """Stop the child and reap it, once; the ring stays mapped while views of it live."""
        with self._lock:
            pid, self._pid = self._pid, None  # a reaped pid may be another process's soon
        if pid is None:
            return
        self._set(_STOP, 1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # it holds nothing worth a clean exit
        self._abandoned = True  # it may have died holding the lock
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        with self._lock:
            if not self._ended:
                self._ended = True
                self._conn.close()


def _pages(count: int) -> int:
    """`count` bytes rounded up to whole pages: regions start on a page, so that their pages
    can be given back."""
    return -(-count // mmap.PAGESIZE) * mmap.PAGESIZE


def _child(
    paths: list[Path],
    ring: mmap.mmap,
    control: multiprocessing.sharedctypes.SynchronizedArray,  # type: ignore[name-defined]
    conn: Connection,
    decode: Callable[[Path, bytes], np.ndarray],
) -> None:
    """The child's work: each file in order, read once, hashed, decoded and put in the ring."""
    size = len(ring)
    parent = os.getppid()  # an orphan waits for no one; a report to a dead parent fails
    used = 0  # running count of ring bytes handed out, padding at the ring's end included
    unhashed = deque(range(len(paths)))
    hashed: set[int] = set()

    def hash_ahead() -> bool:
        while unhashed and unhashed[0] in hashed:
            unhashed.popleft()
        if not unhashed:
            return False
        index = unhashed.popleft()
        with contextlib.suppress(OSError):
            blob = paths[index].read_bytes()
            conn.send(("sha", index, hashlib.sha256(blob).hexdigest()))
        hashed.add(index)
        return True

    def look(index: int) -> tuple[int, int] | None:
        """The ring bytes freed and whether image `index` is skipped; None once the parent
        stops the child or is gone (it may have died holding the lock)."""
        lock = control.get_lock()
        while not lock.acquire(timeout=_LOCK_WAIT):
            if os.getppid() != parent:
                return None
        try:
            values = control.get_obj()
            stop, freed, skipped = values[_STOP], values[_FREED], values[2 + index]
        finally:
            lock.release()
        return None if stop or os.getppid() != parent else (freed, skipped)

    for index, path in enumerate(paths):
        seen = look(index)
        if seen is None:
            return
        if seen[1]:
            continue
        try:
            blob = path.read_bytes()
        except OSError:
            continue  # the parent reads it again and reports why it cannot
        if index not in hashed:
            conn.send(("sha", index, hashlib.sha256(blob).hexdigest()))
            hashed.add(index)
        try:
            pixels = np.ascontiguousarray(decode(path, blob))
        except Exception:
            continue  # the parent decodes it again, and raises what decoding raises
        span = _pages(pixels.nbytes)
        if span > size or pixels.dtype != np.uint8:
            continue  # the parent decodes what the ring cannot carry
        pad = size - used % size if used % size + span > size else 0
        while True:
            seen = look(index)
            if seen is None:
                return
            freed, skipped = seen
            if skipped or used + pad + span - freed <= size:
                break
            if not hash_ahead():
                time.sleep(_POLL)
        if skipped:
            continue
        offset = (used + pad) % size
        np.frombuffer(ring, np.uint8, pixels.size, offset)[:] = pixels.reshape(-1)
        used += pad + span
        conn.send(("pixels", index, offset, pixels.shape, used))
