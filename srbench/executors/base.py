"""The executor interface, its options and how a name becomes an executor."""

from __future__ import annotations

import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from srbench.errors import ConfigError

__all__ = ["Executor", "ExecutorOptions", "TaskFailure", "describe", "make_executor"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutorOptions:
    """Command-line settings of an executor; each executor refuses the ones it cannot honour."""

    processes: int = 0  # local: worker processes for the cells; 0 runs them in this process
    address: str | None = None  # ray: `auto`, `local` or HOST:PORT; None: ray.init()'s default
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0
    retries: int = 2  # extra attempts for a task whose worker died or that raised

    def __post_init__(self) -> None:
        for flag, bad in (
            ("--processes", self.processes < 0),
            ("--retries", self.retries < 0),
            ("--cpus-per-task", self.cpus_per_task <= 0),
            ("--gpus-per-task", self.gpus_per_task < 0),
        ):
            if bad:
                raise ConfigError(
                    f"{flag} is out of range",
                    hint="--cpus-per-task must be positive; the others 0 or more",
                )


@dataclass(frozen=True, slots=True)
class TaskFailure:
    """A task that still failed after its retries: the last error and how often it ran."""

    error: str
    attempts: int


def describe(exc: BaseException) -> str:
    """One line for a failed task: the exception and where in srbench it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


class Executor(ABC):
    """Runs `fn(task, shared)` for every task; `shared` is sent to each worker once."""

    def __init__(self, options: ExecutorOptions) -> None:
        self.options = options

    @property
    def distributed(self) -> bool:
        """False when everything runs in the calling process: the runner may then evaluate
        the whole sweep in one pass, sharing decoded images between cells."""
        return True

    @abstractmethod
    def map(
        self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], shared: Any
    ) -> Iterator[tuple[int, Any]]:
        """Yield `(index into tasks, result or TaskFailure)` in the order tasks finish."""

    def describe(self) -> dict[str, object]:
        """What to record in the run's provenance about where its cells ran."""
        return {"executor": type(self).__name__}

    def close(self) -> None:  # noqa: B027 (optional hook: most executors hold nothing)
        """Release workers or the cluster connection."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def make_executor(name: str, options: ExecutorOptions | None = None) -> Executor:
    """The registered executor `name` built with `options` (a bad option fails here)."""
    from srbench.registry import executors

    cls = executors.get(name)
    return cls(options or ExecutorOptions())  # type: ignore[no-any-return]
