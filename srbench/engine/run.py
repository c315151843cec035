"""The evaluation loop over (dataset, image, scale, model); resumable and failure-tolerant.

Each image is decoded once and its LR made once per scale, then shared by every model.
Every (model, image, scale) is written to the store in one transaction, so a crash loses at
most the image in flight, and a rerun skips what is stored.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from torch import Tensor

from srbench.data.io import read_image, sha256_file
from srbench.data.sets import DatasetSpec, ImageRef
from srbench.errors import ConfigError, DataError, SrbenchError, WeightsError
from srbench.models import BuiltModel, build_model
from srbench.models.adapter import model_dtype, upscale
from srbench.protocol import Prepared, Protocol, get_protocol
from srbench.registry import datasets, metrics, models
from srbench.specs import MetricSpec
from srbench.store.schema import ResultRow
from srbench.store.sqlite import Store, utc_now

__all__ = ["RunConfig", "RunSummary", "run"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """Everything one `srbench run` needs, fully resolved (stored with the run)."""

    models: tuple[str, ...]
    datasets: tuple[str, ...]
    scales: tuple[int, ...]
    out: Path
    metrics: tuple[str, ...] = ("psnr", "ssim")
    data_root: Path | None = None
    protocol: str = "paper"
    device: str = "cpu"
    force: bool = False


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


@dataclass
class _Cell:
    """One model at one scale: built lazily once, or the reason it cannot run."""

    name: str
    scale: int
    built: BuiltModel | None = None
    skip_reason: str | None = None


def _image_digest(refs: list[tuple[ImageRef, str]]) -> str:
    joined = "\n".join(f"{ref.image_id} {sha}" for ref, sha in refs)
    return hashlib.sha256(joined.encode()).hexdigest()


def _resolve(config: RunConfig) -> tuple[Protocol, list[MetricSpec], list[DatasetSpec]]:
    """Look every name up before any work, so a typo fails fast with exit code 2."""
    for scale in config.scales:
        if scale < 2:
            raise ConfigError(f"--scales: {scale} is not supported", hint="use integers >= 2")
    protocol = get_protocol(config.protocol)
    specs = [metrics.meta(m)["spec"] for m in config.metrics]
    for name in config.models:
        models.get(name)
    return protocol, specs, [datasets.get(d) for d in config.datasets]


def _plan(spec: DatasetSpec, config: RunConfig) -> list[tuple[ImageRef, str, list[int]]]:
    """Each image file of a dataset once, with its SHA-256 and the scales that use it."""
    scales_of: dict[Path, list[int]] = {}
    ref_of: dict[Path, ImageRef] = {}
    for scale in config.scales:
        for ref in spec.images(config.data_root, scale):
            ref_of.setdefault(ref.path, ref)
            scales_of.setdefault(ref.path, []).append(scale)
    return [(ref_of[p], _sha_or_missing(p), scales_of[p]) for p in ref_of]


def _sha_or_missing(path: Path) -> str:
    try:
        return sha256_file(path)
    except DataError:
        return f"unreadable:{path.name}"


def run(
    config: RunConfig,
    *,
    command: str = "",
    progress: Callable[[int], object] | None = None,
) -> RunSummary:
    """Evaluate every model on every image of every dataset at every scale; store the rows."""
    protocol, specs, dataset_specs = _resolve(config)
    plans = [(spec, _plan(spec, config)) for spec in dataset_specs]
    store = Store(config.out)
    run_id = store.start_run(command, _config_record(config), config.device)
    summary = RunSummary(run_id=run_id)
    cells = {(m, s): _Cell(m, s) for m in config.models for s in config.scales}
    status = "failed"
    try:
        for spec, plan in plans:
            manifest = _image_digest([(ref, sha) for ref, sha, _ in plan])
            for ref, sha, scales in plan:
                ctx = _ImageContext(
                    run_id=run_id,
                    ref=ref,
                    sha=sha,
                    manifest=manifest,
                    dataset=spec.name,
                    protocol=protocol,
                    specs=specs,
                    device=config.device,
                )
                _run_image(ctx, scales, config, cells, store, summary)
                if progress is not None:
                    progress(len(scales))
        status = "done" if summary.ok else "failed"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        store.finish_run(run_id, status)
        store.close()
    summary.skipped = sorted(
        {f"{c.name} x{c.scale}: {c.skip_reason}" for c in cells.values() if c.skip_reason}
    )
    return summary


def _config_record(config: RunConfig) -> dict[str, object]:
    record = {k: getattr(config, k) for k in config.__dataclass_fields__}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in record.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class _ImageContext:
    """What every row written for one image file shares."""

    run_id: str
    ref: ImageRef
    sha: str
    manifest: str
    dataset: str
    protocol: Protocol
    specs: list[MetricSpec]
    device: str

    def rows(
        self,
        model: str,
        built: BuiltModel | None,
        scale: int,
        *,
        dtype: str = "",
        values: dict[str, float] | None = None,
        errors: dict[str, tuple[str, str]] | None = None,
        status: str = "failed",
        error: str | None = None,
    ) -> list[ResultRow]:
        """One row per metric for (model, this image, scale); a metric without a value gets
        its own (status, error) from `errors`, else `status` and `error`."""
        values, errors, now = values or {}, errors or {}, utc_now()
        return [
            ResultRow(
                run_id=self.run_id,
                model=model,
                model_version=built.version if built else "",
                weights_tag=built.weights_tag if built else "",
                weights_sha256=built.weights_sha256 if built else "",
                dataset=self.dataset,
                dataset_manifest_sha256=self.manifest,
                image_id=self.ref.image_id,
                image_sha256=self.sha,
                scale=scale,
                protocol=self.protocol.name,
                protocol_version=self.protocol.version,
                metric=spec.name,
                metric_version=spec.version,
                value=values.get(spec.name),
                status="ok" if spec.name in values else errors.get(spec.name, (status,))[0],
                error=None if spec.name in values else errors.get(spec.name, (None, error))[1],
                dtype=dtype,
                device=self.device,
                created_at=now,
            )
            for spec in self.specs
        ]


def _build(cell: _Cell, device: str) -> None:
    try:
        cell.built = build_model(cell.name, scale=cell.scale, device=device)
    except SrbenchError as exc:
        cell.skip_reason = str(exc)


def _run_image(
    ctx: _ImageContext,
    scales: list[int],
    config: RunConfig,
    cells: dict[tuple[str, int], _Cell],
    store: Store,
    summary: RunSummary,
) -> None:
    """Score one image file at each of its scales with every model that still needs it."""
    hr: Tensor | None = None
    for scale in scales:
        todo: list[tuple[str, BuiltModel]] = []
        for name in config.models:
            cell = cells[(name, scale)]
            if cell.built is None and cell.skip_reason is None:
                _build(cell, config.device)
            if cell.built is None:
                store.write(ctx.rows(name, None, scale, status="skipped", error=cell.skip_reason))
                continue
            if config.force or not _is_done(store, ctx, cell.built, scale):
                todo.append((name, cell.built))
            else:
                summary.reused += 1
        if not todo:
            continue
        try:
            if hr is None:
                hr = read_image(ctx.ref.path).unsqueeze(0)
            hr_s = ctx.protocol.crop_hr(hr, scale)
            lr = ctx.protocol.make_lr(hr_s, scale)
        except SrbenchError as exc:
            for name, built in todo:
                _fail(ctx, name, built, scale, exc, store, summary)
            continue
        for name, built in todo:
            try:
                sr = upscale(built.module, lr, scale, name=name)
                prepared = ctx.protocol.prepare(sr, hr_s, scale)
            except Exception as exc:  # one crashing model never loses the other results
                _fail(ctx, name, built, scale, exc, store, summary)
                continue
            values, errors = _score(prepared, ctx.specs)
            dtype = str(model_dtype(built.module)).removeprefix("torch.")
            store.write(ctx.rows(name, built, scale, dtype=dtype, values=values, errors=errors))
            summary.computed += 1
            for metric, (status, message) in errors.items():
                if status == "failed":
                    summary.failures.append(
                        f"{name} {ctx.dataset}/{ctx.ref.image_id} x{scale} {metric}: {message}"
                    )


def _is_done(store: Store, ctx: _ImageContext, built: BuiltModel, scale: int) -> bool:
    done = store.done(
        model=built.name,
        model_version=built.version,
        weights_sha256=built.weights_sha256,
        dataset=ctx.dataset,
        scale=scale,
        protocol=ctx.protocol.name,
        protocol_version=ctx.protocol.version,
    )
    return all((ctx.sha, m.name, m.version) in done for m in ctx.specs)


def _score(
    prepared: Prepared, specs: list[MetricSpec]
) -> tuple[dict[str, float], dict[str, tuple[str, str]]]:
    """Each metric on its view of `prepared`: values, and (status, error) of the others.

    A metric whose weights are missing is skipped (it says how to get them); any other
    exception fails only that metric's rows.
    """
    values: dict[str, float] = {}
    errors: dict[str, tuple[str, str]] = {}
    for spec in specs:
        try:
            values[spec.name] = float(metrics.get(spec.name)(*prepared.view(spec.space))[0])
        except WeightsError as exc:
            errors[spec.name] = ("skipped", f"{spec.name} unavailable: {exc}")
        except Exception as exc:
            errors[spec.name] = ("failed", f"{type(exc).__name__}: {exc}")
    return values, errors


def _fail(
    ctx: _ImageContext,
    name: str,
    built: BuiltModel,
    scale: int,
    exc: BaseException,
    store: Store,
    summary: RunSummary,
) -> None:
    message = f"{type(exc).__name__}: {exc}"
    store.write(ctx.rows(name, built, scale, error=message))
    where = f"{name} {ctx.dataset}/{ctx.ref.image_id} x{scale}"
    summary.failures.append(f"{where}: {message}")
    print(f"srbench: failed {where}: {message}", file=sys.stderr)
