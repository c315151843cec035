"""The `local` executor: cells in this process, or in `--processes N` spawned processes."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from srbench.errors import ConfigError
from srbench.executors.base import Executor, ExecutorOptions, TaskFailure, describe

__all__ = ["LocalExecutor"]

_shared: Any = None  # set once per worker process by `_install`


def _install(shared: Any, threads: int) -> None:
    global _shared
    import torch

    _shared = shared
    torch.set_num_threads(threads)


def _call(fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(task, _shared)


class LocalExecutor(Executor):
    """This machine: in-process (default) or in N worker processes (`--processes N`)."""

    def __init__(self, options: ExecutorOptions) -> None:
        super().__init__(options)
        for flag, given in (
            ("--ray-address", options.address),
            ("--gpus-per-task", options.gpus_per_task),
        ):
            if given:
                raise ConfigError(
                    f"{flag} applies to --executor ray only", hint="drop it, or add --executor ray"
                )
        self.processes = min(options.processes, len(os.sched_getaffinity(0)))

    @property
    def distributed(self) -> bool:
        """True with worker processes: each cell is then a separate task."""
        return self.processes > 0

    def describe(self) -> dict[str, object]:
        """The executor and its process count."""
        return {"executor": "local", "processes": self.processes}

    def map(
        self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], shared: Any
    ) -> Iterator[tuple[int, Any]]:
        """Run each task, retrying a raising task (or one whose process died) `retries` times."""
        if self.processes == 0:
            yield from self._in_process(fn, tasks, shared)
        else:
            yield from self._in_processes(fn, tasks, shared)

    def _in_process(
        self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], shared: Any
    ) -> Iterator[tuple[int, Any]]:
        for index, task in enumerate(tasks):
            for attempt in range(1, self.options.retries + 2):
                try:
                    result = fn(task, shared)
                except Exception as exc:  # a failing cell is recorded, never the sweep's end
                    result = TaskFailure(describe(exc), attempt)
                    continue
                break
            yield index, result

    def _pool(self, shared: Any) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),  # no forked torch thread pools
            initializer=_install,
            initargs=(shared, max(1, int(self.options.cpus_per_task))),
        )

    def _in_processes(
        self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], shared: Any
    ) -> Iterator[tuple[int, Any]]:
        attempts = [0] * len(tasks)
        pool = self._pool(shared)
        running: dict[Future[Any], int] = {}

        def submit(index: int) -> None:
            attempts[index] += 1
            running[pool.submit(_call, fn, tasks[index])] = index

        try:
            for index in range(len(tasks)):
                submit(index)
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                again: list[int] = []
                broken = False
                for future in finished:
                    index = running.pop(future)
                    try:
                        yield index, future.result()
                        continue
                    except BrokenProcessPool as exc:
                        broken, error = True, f"its worker process died ({exc})"
                    except Exception as exc:
                        error = describe(exc)
                    if attempts[index] > self.options.retries:
                        yield index, TaskFailure(error, attempts[index])
                    else:
                        again.append(index)
                if broken:  # every task still on the dead pool runs again on a new one
                    again += running.values()
                    running.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool(shared)
                for index in again:
                    submit(index)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
