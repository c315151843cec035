"""The prefetching loader: order, bounded look-ahead, worker counts, and a worker that dies."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srbench.engine import evaluate, loader
from srbench.engine.loader import Prefetcher, available_cores, load, resolve_workers
from srbench.engine.lrcache import LrCache
from srbench.engine.run import RunConfig, run
from srbench.errors import ConfigError, DataError, ProtocolError
from srbench.protocol import PAPER
from srbench.store.sqlite import Store

pytestmark = pytest.mark.filterwarnings("ignore:Set5 has .* images, expected 5")


def _make_set(root: Path, sizes: dict[str, tuple[int, int]]) -> Path:
    folder = root / "Set5"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for image_id, (h, w) in sizes.items():
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{image_id}.png")
    return root


def _values(out: Path) -> dict[tuple[str, int, str], tuple[str, float]]:
    rows = Store(out).results()
    return {
        (r.image_id, r.scale, r.metric): (r.status, r.value)
        for r in rows.itertuples()
        if r.model == "bicubic"
    }


def test_workers_default_to_the_cores_and_zero_means_inline() -> None:
    assert resolve_workers(None) == available_cores() >= 1
    assert resolve_workers(0) == 0
    assert resolve_workers(1) == 1


def test_more_workers_than_cores_are_clamped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cores = available_cores()
    with caplog.at_level(logging.WARNING, logger="srbench"):
        assert resolve_workers(cores + 5) == cores
    assert f"--workers {cores + 5} is more than the {cores} cores available" in caplog.text


def test_negative_workers_are_refused() -> None:
    with pytest.raises(ConfigError, match="--workers: -1 is not a number of threads"):
        resolve_workers(-1)


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_results_come_back_in_job_order_with_bounded_look_ahead(workers: int) -> None:
    started: list[int] = []
    lock = threading.Lock()

    def job(k: int) -> int:
        with lock:
            started.append(k)
        time.sleep(0.002 * (k % 3))
        return k * k

    consumed = []
    with Prefetcher(range(20), job, workers=workers, depth=3) as prefetcher:
        for k, future in prefetcher:
            with lock:
                ahead = len(started) - len(consumed)
            assert ahead <= 3  # never more than `depth` images held
            consumed.append((k, future.result()))
    assert consumed == [(k, k * k) for k in range(20)]


def test_a_failing_job_fails_alone() -> None:
    def job(k: int) -> int:
        if k == 2:
            raise RuntimeError("worker died")
        return k

    with Prefetcher(range(5), job, workers=2) as prefetcher:
        outcome = [(k, f.exception() is not None) for k, f in prefetcher]
    assert outcome == [(0, False), (1, False), (2, True), (3, False), (4, False)]


def test_workers_compute_with_one_torch_thread_and_leave_ours_alone() -> None:
    before = torch.get_num_threads()
    with Prefetcher(range(2), lambda _: torch.get_num_threads(), workers=2) as prefetcher:
        assert [f.result() for _, f in prefetcher] == [1, 1]
    assert torch.get_num_threads() == before


def test_load_crops_and_makes_the_protocol_lr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _make_set(tmp_path, {"a": (26, 31)})
    path = root / "Set5" / "a.png"
    got = load(path, "0" * 64, (2, 3), PAPER, LrCache(tmp_path / "cache"))
    assert got.error is None and got.hr is not None and got.hr.shape == (1, 3, 26, 31)
    for scale in (2, 3):
        hr_s = PAPER.crop_hr(got.hr, scale)
        assert torch.equal(got.scaled[scale].hr, hr_s)
        assert torch.equal(got.scaled[scale].lr, PAPER.make_lr(hr_s, scale))
    source = got.scaled[2].source  # one WorkingHr shared by the scales, for the metric views
    assert source is not None and source is got.scaled[3].source
    monkeypatch.setattr(PAPER.__class__, "make_lr", lambda *a: pytest.fail("LR made again"))
    cached = load(path, "0" * 64, (2,), PAPER, LrCache(tmp_path / "cache"))
    assert torch.equal(cached.scaled[2].lr, got.scaled[2].lr)


def test_for_cuda_the_lr_is_left_to_the_caller_unless_cached(tmp_path: Path) -> None:
    root = _make_set(tmp_path, {"a": (26, 31)})
    meta = torch.device("meta")  # any non-CPU device: only its type is looked at
    got = load(root / "Set5" / "a.png", "0" * 64, (2,), PAPER, LrCache(tmp_path), device=meta)
    assert got.scaled[2].lr is None and got.scaled[2].hr is not None


def test_load_records_protocol_errors_per_image_and_scale(tmp_path: Path) -> None:
    root = _make_set(tmp_path, {"tiny": (5, 5)})
    got = load(root / "Set5" / "tiny.png", "0" * 64, (2,), PAPER, None)
    assert isinstance(got.scaled[2].error, ProtocolError)
    (root / "Set5" / "bad.png").write_text("not an image")
    assert isinstance(load(root / "Set5" / "bad.png", "", (2,), PAPER, None).error, DataError)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_worker_that_dies_fails_its_image_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    root = _make_set(tmp_path / "data", {"a": (24, 30), "b": (24, 30), "c": (20, 22)})
    real_load = loader.load

    def dying_load(path: Path, *args: object, **kw: object) -> loader.Loaded:
        if path.stem == "b":
            raise MemoryError("worker died")
        return real_load(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluate, "load", dying_load)
    config = RunConfig(
        models=("bicubic",),
        datasets=("set5",),
        scales=(2, 3),
        out=tmp_path / "out",
        data_root=root,
        timing="off",
        workers=workers,
    )
    summary = run(config)
    assert summary.computed == 4 and len(summary.failures) == 2
    assert all("MemoryError: worker died" in f and "/b x" in f for f in summary.failures)
    values = _values(tmp_path / "out")
    assert {values[("b", s, m)][0] for s in (2, 3) for m in ("psnr", "ssim")} == {"failed"}
    assert {values[(i, s, m)][0] for i in "ac" for s in (2, 3) for m in ("psnr", "ssim")} == {"ok"}
    monkeypatch.setattr(evaluate, "load", real_load)
    rerun = run(config)  # resume: only the failed image is computed again
    assert rerun.ok and rerun.computed == 2 and rerun.reused == 4


def test_the_numbers_do_not_depend_on_workers_or_batching(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {f"i{k}": (24, 30) for k in range(4)} | {"z": (20, 26)})
    results = []
    for k, (workers, batch) in enumerate([(0, 1), (2, 1), (2, 3)]):
        out = tmp_path / f"out{k}"
        config = RunConfig(
            models=("bicubic",),
            datasets=("set5",),
            scales=(2, 3),
            out=out,
            data_root=root,
            timing="off",
            workers=workers,
            batch=batch,
        )
        assert run(config).computed == 10
        results.append(_values(out))
    assert results[0] == results[1] == results[2]
