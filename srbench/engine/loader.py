"""Prefetching loader: decodes images and makes their LR on worker threads, ahead of the models.

Each image file is decoded once per run (by the run's `ImageFeed` when it got there first,
see `srbench.data.feed`); for each scale some model still needs, its HR is cropped and its
LR taken from the LR cache or made (and cached). Workers are threads: the image decoders
(libdeflate and the compiled unfilter, libpng, Pillow), the protocol's compiled loops,
hashlib and torch release the GIL, so they run beside the models, and a thread costs no
second torch import. Each worker computes with one torch thread so that workers and the
models' own threads do not oversubscribe the cores. At most `depth` images are in flight,
so memory does not grow with the dataset. Results come back in job order. A worker whose
job raises reports the error for that image only.

On CUDA the loader puts the tensors in pinned memory, and `staged` copies each image to the
device on a side stream while the previous one is being evaluated.

`--workers 0` loads in the calling thread (no prefetch); more workers than cores are
clamped to the number of cores, with a warning.
"""

from __future__ import annotations

import functools
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import torch
from torch import Tensor

from srbench.data.io import decode_image
from srbench.engine.lrcache import LrCache, LrKey
from srbench.errors import ConfigError, SrbenchError
from srbench.protocol import Protocol, WorkingHr

__all__ = [
    "Loaded",
    "Prefetcher",
    "Scaled",
    "available_cores",
    "load",
    "resolve_workers",
    "staged",
    "submit",
    "worker_pool",
]

log = logging.getLogger("srbench")
_CPU = torch.device("cpu")
J = TypeVar("J")
R = TypeVar("R")
T = TypeVar("T")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int | None) -> int:
    """Threads per pool (loading, scoring) for `--workers`: None means the cores available;
    0 runs everything in the calling thread.

    More workers than cores are clamped to the cores, with a warning.
    """
    cores = available_cores()
    if workers is None:
        return cores
    if workers < 0:
        raise ConfigError(
            f"--workers: {workers} is not a number of threads",
            hint="use 0 (load in the main thread) or a positive number",
        )
    if workers > cores:
        log.warning(
            "--workers %d is more than the %d cores available; using %d", *(workers, cores, cores)
        )
        return cores
    return workers


@dataclass(slots=True)
class Scaled:
    """The image at one scale: the cropped working HR and its LR, or why it has none.

    `lr` is None when the LR is for CUDA, where the caller makes it, and none was cached.
    `source` is the whole working HR that `hr` was cropped from (shared by all scales).
    """

    hr: Tensor | None = None
    lr: Tensor | None = None
    error: SrbenchError | None = None
    source: WorkingHr | None = None


@dataclass(slots=True)
class Loaded:
    """A decoded image (uint8 (1, C, H, W)) with its scales, or the error that stopped it."""

    hr: Tensor | None = None
    error: SrbenchError | None = None
    scaled: dict[int, Scaled] = field(default_factory=dict)


def load(
    path: Path,
    sha: str,
    scales: tuple[int, ...],
    protocol: Protocol,
    cache: LrCache | None,
    *,
    device: torch.device = _CPU,
    pixels: Callable[[Path], np.ndarray] = decode_image,
) -> Loaded:
    """Decode `path` and give it, per scale, its cropped HR and its LR for `device`.

    `sha` is the file's SHA-256 (the cache key); `pixels` decodes the file. The LR comes
    from the cache when it holds one made on this kind of device; else, for the CPU, it is
    made here and cached, and for CUDA it is left to the caller (made there in batches) and
    the tensors are pinned for asynchronous copies. Errors of the protocol's own making
    (unreadable file, image too small for a scale) are recorded in the result; anything
    else propagates to the caller.
    """
    pin = device.type == "cuda"
    try:
        hr = torch.from_numpy(pixels(path)).unsqueeze(0)
    except SrbenchError as exc:
        return Loaded(error=exc)
    loaded = Loaded(hr=hr.pin_memory() if pin else hr)
    working = protocol.working(hr)
    for scale in scales:
        try:
            hr_s = working.crop(scale)
        except SrbenchError as exc:
            loaded.scaled[scale] = Scaled(error=exc)
            continue
        key = LrKey(sha, scale, protocol.key, device.type)
        lr = cache.get(key) if cache is not None else None
        if lr is None and device.type == "cpu":
            lr = protocol.make_lr(hr_s, scale)
            if cache is not None:
                cache.put(key, lr)
        if pin and lr is not None:
            lr = lr.pin_memory()
        loaded.scaled[scale] = Scaled(hr=hr_s, lr=lr, source=working)
    return loaded


def _one_torch_thread() -> None:
    torch.set_num_threads(1)  # per thread: the caller's own thread count is unchanged


def worker_pool(workers: int, name: str) -> ThreadPoolExecutor | None:
    """`workers` threads that compute with one torch thread each; None for 0 (run in-line)."""
    if workers == 0:
        return None
    return ThreadPoolExecutor(workers, f"srbench-{name}", initializer=_one_torch_thread)


def submit(pool: ThreadPoolExecutor | None, fn: Callable[[], R]) -> Future[R]:
    """`fn` on the pool, or run now when there is none; the future holds its value or error."""
    if pool is not None:
        return pool.submit(fn)
    future: Future[R] = Future()
    try:
        future.set_result(fn())
    except Exception as exc:
        future.set_exception(exc)
    return future


class Prefetcher(Generic[J, R]):
    """Runs `fn` over `jobs` on `workers` threads, `depth` jobs ahead; yields in job order.

    Each item is `(job, future)`; `future.result()` is the value or raises the job's
    exception. Use as a context manager: leaving it cancels the jobs not yet started.
    """

    def __init__(
        self,
        jobs: Iterable[J],
        fn: Callable[[J], R],
        *,
        workers: int,
        depth: int | None = None,
    ) -> None:
        self._jobs = iter(jobs)
        self._fn = fn
        self._depth = depth if depth is not None else 2 * workers + 1
        self._pool = worker_pool(workers, "loader")

    def __enter__(self) -> Prefetcher[J, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Cancel what has not started and let running jobs finish in the background."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def __iter__(self) -> Iterator[tuple[J, Future[R]]]:
        if self._pool is None:
            for job in self._jobs:
                yield job, submit(None, functools.partial(self._fn, job))
            return
        pending: deque[tuple[J, Future[R]]] = deque()
        for job in self._jobs:
            pending.append((job, self._pool.submit(self._fn, job)))
            if len(pending) >= self._depth:
                yield pending.popleft()
        while pending:
            yield pending.popleft()


def staged(
    items: Iterable[tuple[T, Loaded | None]], protocol: Protocol, device: torch.device
) -> Iterator[tuple[T, Loaded | None]]:
    """On CUDA, copy each image from pinned memory on a side stream, one image ahead, so
    that the copy overlaps the work on the previous one; elsewhere, pass items through."""
    if device.type != "cuda":
        yield from items
        return
    stream = torch.cuda.Stream(device)
    ahead: tuple[T, Loaded | None, torch.cuda.Event | None] | None = None
    for item, loaded in items:
        event = None
        if loaded is not None and loaded.hr is not None:
            with torch.cuda.stream(stream):
                loaded = _to_device(loaded, protocol, device)
                event = torch.cuda.Event()
                event.record(stream)
        if ahead is not None:
            yield _ready(*ahead)
        ahead = (item, loaded, event)
    if ahead is not None:
        yield _ready(*ahead)


def _to_device(loaded: Loaded, protocol: Protocol, device: torch.device) -> Loaded:
    """A copy of `loaded` on `device`; HR crops are re-made there from one copied HR."""
    hr = loaded.hr.to(device, non_blocking=True)  # type: ignore[union-attr]
    working = protocol.working(hr)
    scaled = {
        scale: s
        if s.error is not None
        else Scaled(
            hr=working.crop(scale),
            lr=None if s.lr is None else s.lr.to(device, non_blocking=True),
            source=working,
        )
        for scale, s in loaded.scaled.items()
    }
    return Loaded(hr=hr, scaled=scaled)


def _ready(
    item: T, loaded: Loaded | None, event: torch.cuda.Event | None
) -> tuple[T, Loaded | None]:
    """Make the compute stream wait for this image's copies, and keep their memory alive."""
    if event is not None and loaded is not None:
        current = torch.cuda.current_stream()
        current.wait_event(event)
        tensors = [loaded.hr] + [t for s in loaded.scaled.values() for t in (s.hr, s.lr)]
        for tensor in tensors:
            if tensor is not None:
                tensor.record_stream(current)
    return item, loaded
