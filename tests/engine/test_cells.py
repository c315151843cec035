"""The cell-by-cell runner (`srbench.engine.cells`), driven through a stub executor."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from srbench.engine.cells import CellTask, SweepShared, evaluate_cell, run_cells
from srbench.engine.config import RunConfig
from srbench.errors import SrbenchError
from srbench.executors import ExecutorOptions, TaskFailure, make_executor
from srbench.executors.base import Executor
from srbench.registry import load_plugin
from srbench.store.sqlite import Store


class _FailsEveryCell(Executor):
    """Reports every task as failed after its retries, as a dead worker would be reported."""

    def map(
        self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], shared: Any
    ) -> Iterator[tuple[int, Any]]:
        for index in range(len(tasks)):
            yield index, TaskFailure(error="RuntimeError: worker process died", attempts=3)


def _set5_run(
    tmp_path: Path,
    make_images: Callable[..., Path],
    model: str = "bicubic",
    scales: tuple[int, ...] = (2,),
) -> RunConfig:
    """Five small images as Set5 (a whole set: no incomplete-set warning), and a run of
    `model` on them at `scales` into `tmp_path / "out"`."""
    root = tmp_path / "data"
    make_images(root / "Set5", [(24, 24), (30, 26), (26, 30), (28, 28), (32, 24)])
    return RunConfig(
        models=(model,),
        datasets=("set5",),
        scales=scales,
        out=tmp_path / "out",
        data_root=root,
        timing="off",
    )


def test_a_cell_that_failed_as_a_whole_is_said_on_the_driver(
    tmp_path: Path, make_images: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _set5_run(tmp_path, make_images, scales=(2, 3))
    summary = run_cells(config, _FailsEveryCell(ExecutorOptions()))
    err = capsys.readouterr().err
    assert len(summary.failures) == 2 and summary.computed == 0
    for scale in (2, 3):
        said = (
            f"srbench: failed bicubic Set5 x{scale}: RuntimeError: worker process died "
            "(failed 3 time(s); nothing of it was stored)"
        )
        assert said in err
    store = Store(tmp_path / "out", create=False)
    try:
        assert store.results().empty
    finally:
        store.close()


def test_a_worker_killed_mid_cell_leaves_no_temporary_store_behind(
    tmp_path: Path,
    make_images: Callable[..., Path],
    crashy_plugin: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # for the worker processes
    monkeypatch.setattr(tempfile, "tempdir", None)  # for this one, which cached it
    load_plugin(str(crashy_plugin))
    config = _set5_run(tmp_path, make_images, "exec-test-crashy")
    with make_executor("local", ExecutorOptions(processes=1, retries=1)) as executor:
        summary = run_cells(config, executor)
    assert summary.ok and summary.computed == 5, summary.failures
    assert (tmp_path / "crashy.attempts").read_text().startswith("xx")  # it died, then ran again
    assert not list(scratch.rglob("srbench-cell*"))


def test_a_cell_whose_driver_has_ended_is_not_computed_on_its_machine(
    tmp_path: Path, make_images: Callable[..., Path]
) -> None:
    config = _set5_run(tmp_path, make_images)
    task = CellTask("bicubic", "Set5", 2, manifest="", profile=False)
    gone = str(tmp_path / "removed-by-the-driver")
    with pytest.raises(SrbenchError, match="driver has ended"):
        evaluate_cell(task, SweepShared(config, (), gone, socket.gethostname()))
    with pytest.raises(SrbenchError, match="other files"):  # another machine: it runs, and
        evaluate_cell(task, SweepShared(config, (), gone, "elsewhere"))  # checks the manifest


def test_a_driver_removes_the_worker_folders_that_dead_drivers_left(
    tmp_path: Path, make_images: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    )
    left = scratch / f"srbench-cells-{int(ended.stdout)}-abc" / "srbench-cell-xyz"
    live = scratch / f"srbench-cells-{os.getpid()}-def" / "srbench-cell-uvw"
    for folder in (left, live):
        folder.mkdir(parents=True)
        (folder / "results.sqlite").write_bytes(b"")
    run_cells(_set5_run(tmp_path, make_images), _FailsEveryCell(ExecutorOptions()))
    assert not left.parent.exists() and live.exists()
    assert sorted(p.name for p in scratch.iterdir()) == [live.parent.name]  # its own is gone
