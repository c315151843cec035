"""Sweeps split into cells (model × checkpoint × dataset × scale) for a distributed executor.

The driver plans the cells, skips those the store already holds, and hands the rest to the
executor. A worker evaluates one cell with the ordinary runner into a private temporary
store and returns the rows; the driver alone writes them to the real store, one transaction
per cell, so a crash or Ctrl-C loses at most the cells in flight and a rerun skips the
cells already stored. Results are the same numbers the in-process runner computes.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from srbench.engine.run import (
    RunConfig,
    RunSummary,
    config_record,
    image_digest,
    plan_images,
    resolve_config,
    run,
)
from srbench.errors import DataError, SrbenchError
from srbench.executors.base import Executor, TaskFailure
from srbench.models import model_version
from srbench.protocol import Protocol
from srbench.registry import load_plugin, loaded_plugins, models
from srbench.specs import MetricSpec
from srbench.store.schema import RESULT_COLUMNS, ResultRow
from srbench.store.sqlite import Store
from srbench.weights import select_weights, weights_choices
from srbench.weights.cache import verify_cached

__all__ = [
    "CellOutcome",
    "CellTask",
    "SweepShared",
    "evaluate_cell",
    "keep",
    "run_cells",
    "run_detached",
]


@dataclass(frozen=True, slots=True)
class CellTask:
    """One model at one scale on one dataset; `profile` marks the cell that times the model."""

    model: str
    dataset: str
    scale: int
    manifest: str  # the driver's dataset manifest hash: the worker must see the same files
    profile: bool


@dataclass(frozen=True, slots=True)
class SweepShared:
    """What every cell needs, sent to each worker once: the run's settings and plugins, and
    the driver's host and its folder for the workers' temporary stores (see `evaluate_cell`)."""

    config: RunConfig
    plugins: tuple[str, ...]
    scratch: str | None = None
    host: str = ""


@dataclass
class CellOutcome:
    """A cell's rows by table (run id left to the driver) and what happened."""

    tables: dict[str, list[dict[str, object]]]
    computed: int
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def run_detached(
    config: RunConfig, scratch: str | None = None
) -> tuple[RunSummary, dict[str, list[dict[str, object]]]]:
    """Run `config` into a temporary store; return its summary and its rows without run id.

    This is how a worker computes what only the driver stores: the `result`, `timing` and
    `complexity` rows, ready for `keep()`. The store goes under `scratch` (else the system's
    temporary folder).
    """
    with tempfile.TemporaryDirectory(prefix="srbench-cell-", dir=scratch) as tmp:
        summary = run(replace(config, out=Path(tmp)))
        store = Store(Path(tmp), create=False)
        try:
            frames = {
                "result": store.results()[list(RESULT_COLUMNS)],
                "timing": store.table("timing"),
                "complexity": store.table("complexity"),
            }
        finally:
            store.close()
    return summary, {k: f.drop(columns="run_id").to_dict("records") for k, f in frames.items()}


def keep(store: Store, run_id: str, tables: dict[str, list[dict[str, object]]]) -> None:
    """Driver side: write `run_detached` rows under `run_id`, the results in one transaction."""
    store.write(ResultRow(**{**row, "run_id": run_id}) for row in tables["result"])  # type: ignore[arg-type]
    for table in ("timing", "complexity"):
        for row in tables.get(table, []):
            store.write_table(table, run_id, row)


def evaluate_cell(task: CellTask, shared: SweepShared) -> CellOutcome:
    """Worker side: evaluate one cell with the normal runner (see `run_detached`).

    On the driver's machine the cell's temporary store goes in the driver's folder, which
    the driver removes with whatever a worker killed mid-cell leaves there; when that folder
    is gone there, the driver has ended and the cell is not computed.
    """
    scratch = shared.scratch
    if scratch is not None and not os.path.isdir(scratch):
        if socket.gethostname() == shared.host:
            raise SrbenchError("the sweep's driver has ended; the cell is not computed")
        scratch = None  # another machine: its own temporary folder
    for plugin in shared.plugins:
        load_plugin(plugin)
    config = replace(
        shared.config,
        models=(task.model,),
        datasets=(task.dataset,),
        scales=(task.scale,),
        force=True,
        timing=shared.config.timing if task.profile else "off",
    )
    summary, tables = run_detached(config, scratch)
    if {row["dataset_manifest_sha256"] for row in tables["result"]} - {task.manifest}:
        raise DataError(
            f"worker {socket.gethostname()} sees other files for {task.dataset} than the driver",
            hint="workers must read the same data root (a shared filesystem, same path)",
        )
    if not task.profile:
        tables = {"result": tables["result"]}
    return CellOutcome(
        tables=tables,
        computed=summary.computed,
        failures=summary.failures,
        skipped=summary.skipped,
    )


def _checkpoint(config: RunConfig, model: str, scale: int) -> tuple[str, str] | None:
    """(model version, weights SHA-256) a cell would be stored under; None when the model
    cannot be built here (unsupported scale, missing weights: the worker reports why)."""
    cls = models.get(model)
    try:
        entry = select_weights(model, cls, scale, weights_choices(config.weights).get(model))
        weights_sha = verify_cached(model, entry)[1] if entry is not None else ""
    except SrbenchError:
        return None
    return model_version(cls), weights_sha


def _stored(
    store: Store,
    config: RunConfig,
    task: CellTask,
    checkpoint: tuple[str, str] | None,
    shas: set[str],
    protocol: Protocol,
    specs: list[MetricSpec],
) -> bool:
    """True when every image of the cell has every metric stored ok for this checkpoint."""
    if checkpoint is None:
        return False
    dtypes = (config.dtype,) if config.dtype else ("float32", "float64")
    done: set[tuple[str, str, int]] = set()
    for dtype in dtypes:
        done |= store.done(
            model=task.model,
            model_version=checkpoint[0],
            weights_sha256=checkpoint[1],
            dataset=task.dataset,
            scale=task.scale,
            protocol=protocol.name,
            protocol_version=protocol.version,
            dtype=dtype,
        )
    return all((sha, m.name, m.version) in done for sha in shas for m in specs)


def _plan_cells(config: RunConfig, store: Store, summary: RunSummary) -> list[CellTask]:
    """The cells still to compute, dataset by dataset; stored cells count as reused."""
    protocol, specs, dataset_specs = resolve_config(config)
    tasks: list[CellTask] = []
    profiled: set[tuple[str, int]] = set()
    checkpoint_of = functools.cache(functools.partial(_checkpoint, config))  # hash files once
    for spec in dataset_specs:
        plan = plan_images(spec, config)
        manifest = image_digest([(ref, sha) for ref, sha, _ in plan])
        for scale in config.scales:
            shas = {sha for _, sha, scales in plan if scale in scales}
            for model in config.models:
                task = CellTask(model, spec.name, scale, manifest, (model, scale) not in profiled)
                checkpoint = None if config.force else checkpoint_of(model, scale)
                if _stored(store, config, task, checkpoint, shas, protocol, specs):
                    summary.reused += len(shas)
                    continue
                profiled.add((model, scale))
                tasks.append(task)
    return tasks


def run_cells(
    config: RunConfig,
    executor: Executor,
    *,
    command: str = "",
    progress: Callable[[int], object] | None = None,
) -> RunSummary:
    """Evaluate the sweep cell by cell on `executor`; the driver writes every row."""
    store = Store(config.out)
    run_id = store.start_run(
        command, {**config_record(config), **executor.describe()}, config.device
    )
    summary = RunSummary(run_id=run_id)
    skipped: set[str] = set()
    try:
        with (
            store.recording(run_id, lambda: summary.ok),
            _scratch() as tmp,
        ):
            tasks = _plan_cells(config, store, summary)
            threads = max(1, int(executor.options.cpus_per_task))
            workers = config.workers if config.workers is not None else threads
            shared = SweepShared(
                replace(config, workers=workers), loaded_plugins(), tmp, socket.gethostname()
            )
            for index, outcome in executor.map(evaluate_cell, tasks, shared):
                task = tasks[index]
                if isinstance(outcome, TaskFailure):
                    summary.fail(
                        f"{task.model} {task.dataset} x{task.scale}",
                        f"{outcome.error} (failed {outcome.attempts} time(s); nothing of it "
                        "was stored)",
                    )
                    continue
                keep(store, run_id, outcome.tables)
                summary.computed += outcome.computed
                summary.failures += outcome.failures
                skipped.update(outcome.skipped)
                if progress is not None:
                    progress(outcome.computed)
    finally:
        store.close()
    summary.skipped = sorted(skipped)
    return summary


def _scratch() -> tempfile.TemporaryDirectory[str]:
    """The driver's folder for its workers' temporary stores, named for its process.

    A worker cancelled as the driver ends (Ctrl-C) can still write into the folder while the
    driver removes it, and a driver that is killed never removes it; so each driver first
    removes the folders of drivers no longer running on this machine.
    """
    for folder in Path(tempfile.gettempdir()).glob("srbench-cells-*-*"):
        pid = folder.name.split("-")[2]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    prefix = f"srbench-cells-{os.getpid()}-"
    return tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True
