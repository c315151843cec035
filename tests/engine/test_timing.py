"""Timers: a known sleep is measured, warm-up is excluded, the CUDA path's logic on the CPU."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from srbench.engine.timing import (
    CudaEventTimer,
    PerfCounterTimer,
    TimingStats,
    timer_for,
)
from srbench.errors import ConfigError


def test_a_sleep_of_20_ms_is_measured_as_20_ms() -> None:
    stats = PerfCounterTimer().measure(lambda: time.sleep(0.02), warmup=1, repeats=5)
    assert stats.timer == "perf_counter" and stats.repeats == 5 and stats.warmup == 1
    assert 19.5 <= stats.min_ms <= stats.median_ms <= stats.p90_ms
    assert stats.median_ms < 60  # generous for a loaded CI machine, far from 2x


def test_warm_up_calls_are_run_but_not_timed() -> None:
    calls: list[float] = []

    def workload() -> None:
        calls.append(0.0)
        time.sleep(0.05 if len(calls) <= 2 else 0.001)  # the first two calls are slow

    stats = PerfCounterTimer().measure(workload, warmup=2, repeats=6)
    assert len(calls) == 8 and len(stats.samples_ms) == 6
    assert max(stats.samples_ms) < 40


def test_injected_clock_gives_exact_statistics() -> None:
    durations = iter([5.0, 1.0, 2.0, 3.0, 4.0, 10.0])  # seconds per call; warm-up is first
    clock_now = [0.0]

    def clock() -> float:
        return clock_now[0]

    def fn() -> None:
        clock_now[0] += next(durations)

    stats = PerfCounterTimer(clock).measure(fn, warmup=1, repeats=5)
    assert stats.samples_ms == (1000.0, 2000.0, 3000.0, 4000.0, 10000.0)
    assert stats.median_ms == 3000.0 and stats.min_ms == 1000.0 and stats.mean_ms == 4000.0
    assert stats.p90_ms == pytest.approx(np.percentile([1, 2, 3, 4, 10], 90) * 1000)
    assert stats.std_ms == pytest.approx(np.std([1000, 2000, 3000, 4000, 10000], ddof=1))
    assert stats.peak_mem_bytes is None


class FakeCuda:
    """CUDA events and synchronize on a fake device clock; kernels run 'asynchronously'."""

    def __init__(self) -> None:
        self.gpu_time = 0.0
        self.queued = 0.0
        self.log: list[str] = []

    class Event:
        def __init__(self, owner: FakeCuda) -> None:
            self.owner, self.at = owner, None

        def record(self) -> None:
            self.at = self.owner.gpu_time + self.owner.queued  # stamped when the queue drains
            self.owner.log.append("record")

        def elapsed_time(self, end: FakeCuda.Event) -> float:
            if self.owner.queued:
                raise RuntimeError("elapsed_time before synchronize")
            return end.at - self.at

    def launch(self, ms: float) -> None:
        self.queued += ms
        self.log.append("launch")

    def synchronize(self) -> None:
        self.gpu_time += self.queued
        self.queued = 0.0
        self.log.append("sync")


def test_cuda_timer_logic_with_injected_events() -> None:
    cuda = FakeCuda()
    work = iter([100.0, 100.0, 3.0, 5.0, 4.0])  # two slow warm-up launches
    timer = CudaEventTimer(
        new_event=lambda: FakeCuda.Event(cuda),
        synchronize=cuda.synchronize,
        reset_peak=lambda: cuda.log.append("reset"),
        peak=lambda: 1234,
    )
    stats = timer.measure(lambda: cuda.launch(next(work)), warmup=2, repeats=3)
    assert stats.timer == "cuda_event"
    assert stats.samples_ms == (3.0, 5.0, 4.0) and stats.median_ms == 4.0
    assert stats.peak_mem_bytes == 1234
    # warm-up is drained and the peak reset before timing; each sample syncs before reading
    assert cuda.log[:4] == ["launch", "launch", "sync", "reset"]
    assert cuda.log[4:] == ["record", "launch", "record", "sync"] * 3


def test_timer_for_picks_by_device() -> None:
    assert isinstance(timer_for("cpu"), PerfCounterTimer)
    assert isinstance(timer_for(torch.device("cuda:0")), CudaEventTimer)


@pytest.mark.parametrize(("warmup", "repeats"), [(-1, 3), (0, 0)])
def test_bad_repeat_counts_are_refused(warmup: int, repeats: int) -> None:
    with pytest.raises(ConfigError, match=r"warmup >= 0 and repeats >= 1"):
        PerfCounterTimer().measure(lambda: None, warmup=warmup, repeats=repeats)


def test_a_single_sample_has_zero_spread() -> None:
    stats = TimingStats.from_samples([7.0], timer="perf_counter", warmup=0)
    assert (stats.median_ms, stats.p90_ms, stats.std_ms) == (7.0, 7.0, 0.0)
