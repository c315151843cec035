"""Executors: where the cells of a sweep run, chosen by name (`--executor local|ray`).

An executor maps a picklable function over tasks and yields `(index, outcome)` as tasks
finish, an outcome being the function's return value or a `TaskFailure` once the task's
retries are spent. Executors only compute: the driver alone writes the results store, so the
store's guarantees (one transaction per write, reruns skip what is stored) hold however the
work was spread. Third-party executors register in the `srbench.executors` entry-point group
with a class taking `ExecutorOptions`.
"""

from __future__ import annotations

from srbench.executors.base import Executor, ExecutorOptions, TaskFailure, make_executor

__all__ = ["Executor", "ExecutorOptions", "TaskFailure", "make_executor"]
