"""The `ray` executor: one Ray task per cell, on a cluster or a local Ray instance.

Workers find data, weights and the LR cache through the same paths as the driver
(`SRBENCH_DATA_ROOT`, `SRBENCH_HOME`, passed to every worker in the job's runtime
environment): on a cluster these must be on a shared filesystem. Workers verify what they
read (image and checkpoint SHA-256), so a worker that sees other files fails its cell
instead of storing wrong numbers. What every task needs (the run's settings, the plugins)
goes into the object store once and reaches tasks by reference.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from srbench.errors import ConfigError
from srbench.executors.base import Executor, ExecutorOptions, TaskFailure

__all__ = ["RayExecutor", "worker_environment"]

ENV_VARS = ("SRBENCH_HOME", "SRBENCH_DATA_ROOT", "SRBENCH_WEIGHTS_ROOT")


def worker_environment() -> dict[str, str]:
    """The srbench variables of this process, paths made absolute, for every Ray worker."""
    env = {k: str(Path(os.environ[k]).resolve()) for k in ENV_VARS if os.environ.get(k)}
    if "SRBENCH_HOME" not in env:
        from srbench.weights.cache import srbench_home

        env["SRBENCH_HOME"] = str(srbench_home().resolve())
    return env


def _check_reachable(address: str | None) -> None:
    """Fail fast on a HOST:PORT where nothing listens (ray.init would retry for minutes)."""
    if address is None or address in ("auto", "local") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"--ray-address {address}: no Ray head answers there ({exc})",
            hint="check the address `ray start --head` printed, or use --ray-address local",
        ) from exc


def _call(fn: Callable[[Any, Any], Any], task: Any, shared: Any, threads: int) -> Any:
    import torch

    torch.set_num_threads(threads)
    return fn(task, shared)


class RayExecutor(Executor):
    """A Ray cluster (`--ray-address auto|HOST:PORT`) or a local Ray instance (`local`)."""

    def __init__(self, options: ExecutorOptions) -> None:
        super().__init__(options)
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                "--executor ray needs Ray, which is not installed",
                hint="pip install 'srbench[ray]'",
            ) from exc
        if options.processes:
            raise ConfigError(
                "--processes applies to --executor local only",
                hint="with Ray, size tasks with --cpus-per-task/--gpus-per-task",
            )
        _check_reachable(options.address)
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            try:
                ray.init(
                    address=options.address,  # None: RAY_ADDRESS, a running cluster, or local
                    runtime_env={"env_vars": worker_environment()},
                    include_dashboard=False,
                    logging_level="warning",
                )
            except (ConnectionError, RuntimeError) as exc:
                raise ConfigError(
                    f"--ray-address {options.address}: cannot connect to Ray ({exc})",
                    hint="start a cluster with `ray start --head`, or use --ray-address local",
                ) from exc

    def describe(self) -> dict[str, object]:
        """The executor, the cluster's resources and the per-task requests."""
        return {
            "executor": "ray",
            "ray": self._ray.__version__,
            "cluster": {k: v for k, v in self._ray.cluster_resources().items() if "node" not in k},
            "cpus_per_task": self.options.cpus_per_task,
            "gpus_per_task": self.options.gpus_per_task,
            "retries": self.options.retries,
        }

    def map(
        self, fn: Callable[[Any, Any], Any], tasks: Sequence[Any], shared: Any
    ) -> Iterator[tuple[int, Any]]:
        """Submit every task at once; yield results as they finish; Ctrl-C cancels the rest."""
        ray = self._ray
        remote = ray.remote(
            num_cpus=self.options.cpus_per_task,
            num_gpus=self.options.gpus_per_task,
            max_retries=self.options.retries,  # worker deaths, preemption
            retry_exceptions=self.options.retries > 0,  # exceptions raised by the task
        )(_call)
        shared_ref = ray.put(shared)
        threads = max(1, int(self.options.cpus_per_task))
        pending = {remote.remote(fn, task, shared_ref, threads): i for i, task in enumerate(tasks)}
        try:
            while pending:
                finished, _ = ray.wait(list(pending), num_returns=1)
                for ref in finished:
                    index = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        result = TaskFailure(_short(exc), self.options.retries + 1)
                    yield index, result
        finally:  # Ctrl-C or an error in the driver: nothing outstanding keeps running
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Disconnect from the cluster, or stop the local instance this executor started."""
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


def _short(exc: BaseException) -> str:
    """A task error in one line: its cause's last line (Ray prefixes remote tracebacks)."""
    cause = getattr(exc, "cause", None)
    source = cause if isinstance(cause, BaseException) else exc
    lines = [line.strip() for line in str(source).splitlines() if line.strip()]
    return f"{type(source).__name__}: {lines[-1] if lines else ''}"
