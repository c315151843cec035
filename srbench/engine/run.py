"""The evaluation loop over (dataset, image, scale, model); resumable and failure-tolerant.

Each image is hashed and decoded once per run, ahead of the models, by the run's image feed
(`srbench.data.feed`, which the CLI starts before torch is imported) or the loader threads
(`loader`), and its LR made once per scale or read from the LR cache (`lrcache`), then
shared by every model (`evaluate`). Every (model, image, scale) is written to the store in
one transaction, so a crash loses at most the images in flight, and a rerun skips what is
stored.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from srbench.data.feed import ImageFeed, feed_images
from srbench.data.io import sha256_file
from srbench.data.sets import DatasetSpec, ImageRef
from srbench.engine.config import MODEL_DTYPES, RunConfig
from srbench.engine.evaluate import Evaluator, ImageContext, Work
from srbench.engine.loader import Prefetcher, resolve_workers
from srbench.engine.lrcache import LrCache
from srbench.engine.profile import complexity_row, profile
from srbench.errors import ConfigError, DataError, SrbenchError
from srbench.executors.base import Executor
from srbench.models import BuiltModel, build_model
from srbench.models.adapter import model_dtype
from srbench.models.tiling import check_tiling
from srbench.protocol import Protocol, get_protocol
from srbench.registry import datasets, metrics, models
from srbench.specs import MetricSpec
from srbench.store.sqlite import Store
from srbench.weights import weights_choices

__all__ = [
    "MODEL_DTYPES",
    "RunConfig",
    "RunSummary",
    "config_record",
    "image_digest",
    "plan_images",
    "resolve_config",
    "run",
]


@dataclass
class RunSummary:
    """What a run did: images scored, reused from the store, failed and skipped cells."""

    run_id: str
    computed: int = 0
    reused: int = 0
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed (skipped cells, e.g. missing weights, are not failures)."""
        return not self.failures

    def fail(self, where: str, message: str) -> None:
        """Count a failure and say it now on stderr, so that every failure counted is shown."""
        self.failures.append(f"{where}: {message}")
        print(f"srbench: failed {where}: {message}", file=sys.stderr)


@dataclass
class _Cell:
    """One model at one scale: built lazily once, or the reason it cannot run."""

    name: str
    scale: int
    built: BuiltModel | None = None
    skip_reason: str | None = None
    counted: Future[dict[str, object]] | None = None  # its complexity row, counted meanwhile


def image_digest(refs: list[tuple[ImageRef, str]]) -> str:
    """The dataset manifest hash of a run: image ids and SHA-256s, in plan order."""
    joined = "\n".join(f"{ref.image_id} {sha}" for ref, sha in refs)
    return hashlib.sha256(joined.encode()).hexdigest()


def resolve_config(config: RunConfig) -> tuple[Protocol, list[MetricSpec], list[DatasetSpec]]:
    """Look every name up before any work, so a typo fails fast with exit code 2."""
    for scale in config.scales:
        if scale < 2:
            raise ConfigError(f"--scales: {scale} is not supported", hint="use integers >= 2")
    protocol = get_protocol(config.protocol)
    specs = [metrics.meta(m)["spec"] for m in config.metrics]
    for name in config.models:
        models.get(name)
    for model in weights_choices(config.weights):
        if model not in config.models:
            raise ConfigError(f"--weights names {model!r}, which is not in --models")
    if config.tile is not None:
        check_tiling(config.tile, config.tile_overlap)
    if config.dtype is not None and config.dtype not in MODEL_DTYPES:
        raise ConfigError(
            f"--dtype: {config.dtype!r} is not supported", hint=f"use one of {MODEL_DTYPES}"
        )
    if config.batch < 1:
        raise ConfigError(f"--batch: {config.batch} is not supported", hint="use 1 or more")
    return protocol, specs, [datasets.get(d) for d in config.datasets]


def plan_images(
    spec: DatasetSpec, config: RunConfig, feed: ImageFeed | None = None
) -> list[tuple[ImageRef, str, list[int]]]:
    """Each image file of a dataset once, with its SHA-256 (hashed by `feed` when given)
    and the scales that use it."""
    sha = sha256_file if feed is None else feed.sha256
    return [
        (ref, _sha_or_missing(sha, ref.path), scales)
        for ref, scales in spec.image_files(config.data_root, config.scales)
    ]


def _sha_or_missing(sha: Callable[[Path], str], path: Path) -> str:
    try:
        return sha(path)
    except DataError:
        return f"unreadable:{path.name}"


def run(
    config: RunConfig,
    *,
    command: str = "",
    progress: Callable[[int], object] | None = None,
    executor: Executor | None = None,
    feed: ImageFeed | None = None,
) -> RunSummary:
    """Evaluate every model on every image of every dataset at every scale; store the rows.

    With a distributed `executor` (Ray, local worker processes) the sweep is split into
    cells (`srbench.engine.cells`); otherwise it runs here, image by image, its files
    hashed and decoded by `feed` (one is started here when none is given), which the run
    closes when it ends.
    """
    if executor is not None and executor.distributed:
        from srbench.engine.cells import run_cells  # cells builds on this module

        return run_cells(config, executor, command=command, progress=progress)
    protocol, specs, dataset_specs = resolve_config(config)
    workers = resolve_workers(config.workers)
    if feed is None:  # quiet: the plan below lists the sets again, and warns then
        feed = feed_images(
            dataset_specs, config.data_root, config.scales, background=workers > 0, quiet=True
        )
    with feed:
        plans = [(spec, plan_images(spec, config, feed)) for spec in dataset_specs]
        store = Store(config.out)
        run_id = store.start_run(command, config_record(config), config.device)
        summary = RunSummary(run_id=run_id)
        cells = {(m, s): _Cell(m, s) for m in config.models for s in config.scales}
        evaluator = Evaluator(
            protocol=protocol,
            store=store,
            summary=summary,
            cache=LrCache(),
            device=torch.device(config.device),
            workers=workers,
            feed=feed,
            batch=config.batch,
            tile=config.tile,
            tile_overlap=config.tile_overlap,
        )
        # FLOPs are counted on a CPU model while the run goes on, not at its serial end (on
        # a GPU the counting copy would hold device memory beside the run's)
        counter = ThreadPoolExecutor(1, "srbench-cost") if config.device == "cpu" else None
        try:
            with store.recording(run_id, lambda: summary.ok), evaluator:
                for spec, plan in plans:
                    works = _works(
                        spec, plan, protocol, specs, config, cells, store, summary, feed, counter
                    )
                    with Prefetcher(works, evaluator.load, workers=workers) as loader:
                        for group in evaluator.groups(loader):
                            evaluator.evaluate(group)
                            if progress is not None:
                                progress(sum(len(work.scales) for work, _ in group))
                _profile_cells(cells, config, store, run_id)
        finally:
            if counter is not None:
                counter.shutdown(cancel_futures=True)
            store.close()
        summary.skipped = sorted(
            {f"{c.name} x{c.scale}: {c.skip_reason}" for c in cells.values() if c.skip_reason}
        )
        return summary


def _profile_cells(
    cells: dict[tuple[str, int], _Cell], config: RunConfig, store: Store, run_id: str
) -> None:
    """Parameters, MACs and (unless timing is off) latency of every model that was built."""
    for cell in cells.values():
        if cell.built is None:
            continue
        try:
            counted = cell.counted.result() if cell.counted is not None else None
            measured = profile(cell.built, cell.scale, config.timing, config.device, counted)
        except Exception as exc:  # profiling never costs the stored quality results
            print(f"srbench: could not profile {cell.name} x{cell.scale}: {exc}", file=sys.stderr)
            continue
        store.write_table("complexity", run_id, measured.complexity)
        if measured.timing is not None:
            store.write_table("timing", run_id, measured.timing)


def config_record(config: RunConfig) -> dict[str, object]:
    """The config as JSON-ready values, as stored with the run."""
    record = {k: getattr(config, k) for k in config.__dataclass_fields__}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in record.items()}


def _build(cell: _Cell, config: RunConfig, counter: ThreadPoolExecutor | None) -> None:
    choice = weights_choices(config.weights).get(cell.name)
    try:
        cell.built = build_model(cell.name, scale=cell.scale, device=config.device, weights=choice)
    except SrbenchError as exc:
        cell.skip_reason = str(exc)
        return
    if config.dtype is not None and any(True for _ in cell.built.module.parameters()):
        cell.built.module.to(getattr(torch, config.dtype))  # parameter-free models keep theirs
    if counter is not None:
        cell.counted = counter.submit(complexity_row, cell.built, cell.scale)


def _works(
    spec: DatasetSpec,
    plan: list[tuple[ImageRef, str, list[int]]],
    protocol: Protocol,
    specs: list[MetricSpec],
    config: RunConfig,
    cells: dict[tuple[str, int], _Cell],
    store: Store,
    summary: RunSummary,
    feed: ImageFeed,
    counter: ThreadPoolExecutor | None,
) -> Iterator[Work]:
    """Each image of the plan with the models each scale still needs (models built lazily,
    their FLOPs counted on `counter` when given); the feed lets go of images that need
    nothing."""
    manifest = image_digest([(ref, sha) for ref, sha, _ in plan])
    done: dict[tuple[str, int], set[tuple[str, str, int]]] = {}
    for ref, sha, scales in plan:
        ctx = ImageContext(
            run_id=summary.run_id,
            ref=ref,
            sha=sha,
            manifest=manifest,
            dataset=spec.name,
            protocol=protocol,
            specs=specs,
            device=config.device,
        )
        work = Work(ctx, tuple(scales))
        for scale in scales:
            for name in config.models:
                cell = cells[(name, scale)]
                if cell.built is None and cell.skip_reason is None:
                    _build(cell, config, counter)
                if cell.built is None:
                    work.skipped.append((name, scale, cell.skip_reason or ""))
                    continue
                if (name, scale) not in done:
                    done[(name, scale)] = _done(store, spec.name, protocol, cell.built, scale)
                if config.force or not all(
                    (sha, m.name, m.version) in done[(name, scale)] for m in specs
                ):
                    work.todo.setdefault(scale, []).append((name, cell.built))
                else:
                    summary.reused += 1
        if not work.todo:
            feed.discard(ref.path)
        yield work


def _done(
    store: Store, dataset: str, protocol: Protocol, built: BuiltModel, scale: int
) -> set[tuple[str, str, int]]:
    """(image_sha256, metric, metric_version) stored ok for this model cell, in its dtype."""
    return store.done(
        model=built.name,
        model_version=built.version,
        weights_sha256=built.weights_sha256,
        dataset=dataset,
        scale=scale,
        protocol=protocol.name,
        protocol_version=protocol.version,
        dtype=str(model_dtype(built.module)).removeprefix("torch."),
    )
