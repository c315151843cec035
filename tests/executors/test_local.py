"""The `local` executor: in-process and worker-process maps, retries, failures, options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from srbench.errors import ConfigError, UnknownNameError
from srbench.executors import ExecutorOptions, TaskFailure, make_executor
from srbench.registry import executors


def _square_plus(task: int, shared: int) -> int:
    return task * task + shared


def _attempt(folder: Path, task: int) -> int:
    """Count this call in a marker file; the count survives a process that dies."""
    marker = folder / f"{task}.attempts"
    n = len(marker.read_text()) if marker.exists() else 0
    marker.write_text("x" * (n + 1))
    return n + 1


def _fails_once(task: int, folder: Path) -> int:
    if _attempt(folder, task) == 1:
        raise RuntimeError(f"task {task} fails on its first attempt")
    return task


def _dies_once(task: int, folder: Path) -> int:
    if task == 1 and _attempt(folder, task) == 1:
        os._exit(7)  # the worker process dies mid-task, as an OOM kill would
    return task


def _always_fails(task: int, shared: object) -> int:
    raise ValueError(f"cell {task} is broken")


def _run(name: str, fn, tasks, shared, **options) -> dict[int, object]:  # type: ignore[no-untyped-def]
    with make_executor(name, ExecutorOptions(**options)) as executor:
        return dict(executor.map(fn, tasks, shared))


def test_local_and_ray_are_registered_executors() -> None:
    assert {"local", "ray"} <= set(executors.names())


@pytest.mark.parametrize("processes", [0, 2])
def test_map_returns_every_result_with_its_index(processes: int) -> None:
    got = _run("local", _square_plus, [1, 2, 3, 4], 10, processes=processes)
    assert got == {0: 11, 1: 14, 2: 19, 3: 26}


@pytest.mark.parametrize("processes", [0, 2])
def test_a_raising_task_is_retried(processes: int, tmp_path: Path) -> None:
    got = _run("local", _fails_once, [5, 6], tmp_path, processes=processes, retries=1)
    assert got == {0: 5, 1: 6}
    assert (tmp_path / "5.attempts").read_text() == "xx"


@pytest.mark.parametrize("processes", [0, 2])
def test_a_task_failing_every_attempt_is_a_failure_and_the_rest_go_on(processes: int) -> None:
    with make_executor("local", ExecutorOptions(processes=processes, retries=2)) as executor:
        got = dict(executor.map(_always_fails, [1], None))
    assert isinstance(got[0], TaskFailure)
    assert got[0].attempts == 3 and "cell 1 is broken" in got[0].error
    assert _run("local", _square_plus, [2], 0, processes=processes) == {0: 4}


def test_a_worker_process_that_dies_is_replaced_and_its_task_retried(tmp_path: Path) -> None:
    got = _run("local", _dies_once, [0, 1, 2, 3], tmp_path, processes=2, retries=1)
    assert got == {0: 0, 1: 1, 2: 2, 3: 3}
    assert (tmp_path / "1.attempts").read_text() == "xx"


def test_a_worker_that_keeps_dying_is_recorded_as_failed(tmp_path: Path) -> None:
    got = _run("local", _dies_once, [1], tmp_path, processes=1, retries=0)
    assert isinstance(got[0], TaskFailure) and "worker process died" in got[0].error


def test_processes_beyond_the_cores_are_clamped() -> None:
    executor = make_executor("local", ExecutorOptions(processes=10_000))
    assert executor.processes == len(os.sched_getaffinity(0))
    assert executor.distributed
    assert not make_executor("local").distributed


@pytest.mark.parametrize(
    ("options", "flag"),
    [
        ({"address": "auto"}, "--ray-address"),
        ({"gpus_per_task": 1.0}, "--gpus-per-task"),
        ({"processes": -1}, "--processes"),
        ({"retries": -1}, "--retries"),
    ],
)
def test_options_the_local_executor_cannot_honour_are_refused(options: dict, flag: str) -> None:
    with pytest.raises(ConfigError, match=flag):
        make_executor("local", ExecutorOptions(**options))


def test_an_unknown_executor_suggests_the_close_match() -> None:
    with pytest.raises(UnknownNameError, match="local"):
        make_executor("lokal")
