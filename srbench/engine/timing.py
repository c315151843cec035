"""Per-call latency with warm-up excluded (SPEC §7): a `Timer` interface and two clocks.

`PerfCounterTimer` times CPU work with `time.perf_counter`. `CudaEventTimer` records a CUDA
event pair around each call and synchronises before reading it, so queued kernels are
counted and host↔device copies outside `fn` are not; its event and synchronise functions
are injectable, which keeps its logic testable without a GPU. `timer_for(device)` picks one.
"""

from __future__ import annotations

import statistics
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np
import torch

from srbench.errors import ConfigError

__all__ = ["CudaEventTimer", "PerfCounterTimer", "Timer", "TimingStats", "timer_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TimingStats:
    """Summary of the timed repeats, in milliseconds; warm-up calls are not in it."""

    timer: str
    warmup: int
    repeats: int
    median_ms: float
    p90_ms: float
    min_ms: float
    mean_ms: float
    std_ms: float
    samples_ms: tuple[float, ...]
    peak_mem_bytes: int | None = None

    @classmethod
    def from_samples(
        cls,
        samples_ms: Sequence[float],
        *,
        timer: str,
        warmup: int,
        peak_mem_bytes: int | None = None,
    ) -> TimingStats:
        """Median, p90 (linear interpolation), min, mean and sample std of `samples_ms`."""
        samples = tuple(float(s) for s in samples_ms)
        return cls(
            timer=timer,
            warmup=warmup,
            repeats=len(samples),
            median_ms=statistics.median(samples),
            p90_ms=float(np.percentile(samples, 90)),
            min_ms=min(samples),
            mean_ms=statistics.fmean(samples),
            std_ms=statistics.stdev(samples) if len(samples) > 1 else 0.0,
            samples_ms=samples,
            peak_mem_bytes=peak_mem_bytes,
        )


class Timer(ABC):
    """Runs `fn` `warmup` times untimed, then `repeats` times timed, and summarises."""

    name: ClassVar[str]

    def measure(
        self, fn: Callable[[], object], *, warmup: int = 3, repeats: int = 10
    ) -> TimingStats:
        """Time `repeats` calls of `fn` after `warmup` untimed calls."""
        if warmup < 0 or repeats < 1:
            raise ConfigError(
                f"timing needs warmup >= 0 and repeats >= 1, not {warmup} and {repeats}"
            )
        for _ in range(warmup):
            fn()
        self._before()
        samples = [self._time_once(fn) for _ in range(repeats)]
        return TimingStats.from_samples(
            samples, timer=self.name, warmup=warmup, peak_mem_bytes=self._peak()
        )

    @abstractmethod
    def _before(self) -> None:
        """Run between warm-up and the timed calls."""

    @abstractmethod
    def _peak(self) -> int | None:
        """Peak memory of the timed calls in bytes, where the device reports it."""

    @abstractmethod
    def _time_once(self, fn: Callable[[], object]) -> float:
        """Milliseconds one call of `fn` took."""


class PerfCounterTimer(Timer):
    """Wall-clock timing of CPU work with `time.perf_counter` (or an injected clock, seconds)."""

    name = "perf_counter"

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock

    def _before(self) -> None:
        return None  # CPU work is synchronous: nothing is queued

    def _peak(self) -> int | None:
        return None  # no allocator statistics on the CPU

    def _time_once(self, fn: Callable[[], object]) -> float:
        start = self._clock()
        fn()
        return (self._clock() - start) * 1e3


class Event(Protocol):
    """The part of `torch.cuda.Event` the CUDA timer uses."""

    def record(self) -> None: ...

    def elapsed_time(self, end: Event) -> float: ...


class CudaEventTimer(Timer):
    """GPU timing with CUDA events, synchronising before each reading; records peak memory."""

    name = "cuda_event"

    def __init__(
        self,
        *,
        new_event: Callable[[], Event] | None = None,
        synchronize: Callable[[], None] | None = None,
        reset_peak: Callable[[], None] | None = None,
        peak: Callable[[], int] | None = None,
    ) -> None:
        self._new_event = new_event or (lambda: torch.cuda.Event(enable_timing=True))
        self._synchronize = synchronize or torch.cuda.synchronize
        self._reset_peak = reset_peak or torch.cuda.reset_peak_memory_stats
        self._peak_bytes = peak or torch.cuda.max_memory_allocated

    def _before(self) -> None:
        self._synchronize()  # warm-up work still queued must not land in the first sample
        self._reset_peak()

    def _peak(self) -> int | None:
        return int(self._peak_bytes())

    def _time_once(self, fn: Callable[[], object]) -> float:
        start, end = self._new_event(), self._new_event()
        start.record()
        fn()
        end.record()
        self._synchronize()
        return float(start.elapsed_time(end))


def timer_for(device: str | torch.device) -> Timer:
    """CUDA events for a CUDA device, `perf_counter` otherwise."""
    return CudaEventTimer() if torch.device(device).type == "cuda" else PerfCounterTimer()
