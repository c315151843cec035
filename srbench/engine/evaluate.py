"""Scores loaded images with every model that needs them and writes one transaction per cell.

The runner (`srbench.engine.run`) decides what each image needs (`Work`) and the loader
(`srbench.engine.loader`) decodes it; `Evaluator` does the rest on the run's device: the LR
(from the loader, or made on the device and cached), the model's forward, the protocol's
quantisation and the metrics, then one store transaction per (model, image, scale).

On CUDA, each image's tensors are copied from pinned memory on a side stream while the
previous image is being evaluated, and up to `batch` consecutive images of equal size go
through a model together. A batch that fails is retried image by image, so one bad image
or one crashing model never costs another's results.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from srbench.data.feed import ImageFeed
from srbench.data.sets import ImageRef
from srbench.engine.loader import Loaded, Scaled, load, staged, submit, worker_pool
from srbench.engine.lrcache import LrCache, LrKey
from srbench.errors import SrbenchError, WeightsError
from srbench.models import BuiltModel
from srbench.models.adapter import model_dtype, upscale
from srbench.protocol import Prepared, Protocol
from srbench.registry import metrics
from srbench.specs import MetricSpec
from srbench.store.schema import ResultRow
from srbench.store.sqlite import Store, utc_now

if TYPE_CHECKING:
    from srbench.engine.run import RunSummary

__all__ = ["Evaluator", "ImageContext", "Work"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageContext:
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


@dataclass(slots=True)
class Work:
    """One image file: the models each scale still needs, and the rows of unbuildable ones."""

    ctx: ImageContext
    scales: tuple[int, ...]  # the scales the plan has for this file
    todo: dict[int, list[tuple[str, BuiltModel]]] = field(default_factory=dict)
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # model, scale, reason


_Item = tuple[Work, "Loaded | None"]


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What a scoring task returns: metric values and errors, or why the cell failed."""

    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    failure: Exception | None = None


class Evaluator:
    """Forward passes, scoring and store writes for one run; a context manager.

    On CPU, scoring (and the whole forward of parameter-free models such as bicubic, which
    are protocol arithmetic) runs on `workers` threads with one torch thread each, while
    networks run on the calling thread with torch's intra-op threads: many small parallel
    regions on a busy 2-core machine spend more time in OpenMP barriers than computing
    (SSIM of a 508x508 image took 3.3 s on 2 threads against 0.02 s on 1 while other
    processes held the cores). A network's cell is scored before its next forward, which
    then has the cores to itself; parameter-free models' cells are written in order, at
    most 2 x workers behind. Writes happen on the calling thread.
    """

    def __init__(
        self,
        *,
        protocol: Protocol,
        store: Store,
        summary: RunSummary,
        cache: LrCache | None,
        device: torch.device,
        workers: int,
        feed: ImageFeed,
        batch: int = 1,
        tile: int | None = None,
        tile_overlap: int = 16,
    ) -> None:
        self.protocol, self.store, self.summary, self.cache = protocol, store, summary, cache
        self.feed = feed
        self.device, self.batch, self.tile, self.tile_overlap = device, batch, tile, tile_overlap
        self._pool = worker_pool(workers, "score") if device.type == "cpu" else None
        self._pending: deque[tuple[Work, BuiltModel, int, Future[_Outcome]]] = deque()
        self._lag = 2 * max(workers, 1)

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            if kind is None:
                self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=kind is None, cancel_futures=True)

    def load(self, work: Work) -> Loaded | None:
        """Loader job: decode the image and make (or fetch) its LR at the scales to do."""
        if not work.todo:
            return None
        return load(
            work.ctx.ref.path,
            work.ctx.sha,
            tuple(work.todo),
            self.protocol,
            self.cache,
            device=self.device,
            pixels=self.feed.pixels,
        )

    def groups(self, items: Iterable[tuple[Work, Future[Loaded | None]]]) -> Iterator[list[_Item]]:
        """Loaded images in order, staged on the device one ahead, in batches of equal size.

        An image whose loader job raised is recorded as failed here and left out.
        """
        group: list[_Item] = []
        for work, loaded in staged(self._resolved(items), self.protocol, self.device):
            if group and not _batchable(group, loaded, self.batch):
                yield group
                group = []
            group.append((work, loaded))
        if group:
            yield group

    def evaluate(self, group: list[_Item]) -> None:
        """Every model that needs them on these images, at each scale; one write per cell."""
        for work, _ in group:
            for name, scale, reason in work.skipped:
                self.store.write(work.ctx.rows(name, None, scale, status="skipped", error=reason))
        scales = sorted({scale for work, _ in group for scale in work.todo})
        for scale in scales:
            ready: list[tuple[Work, Scaled]] = []
            for work, loaded in group:
                if scale not in work.todo or loaded is None:
                    continue
                scaled = loaded.scaled[scale]
                if scaled.error is not None:
                    self._fail_all(work, scale, scaled.error)
                else:
                    ready.append((work, scaled))
            if ready:
                self._evaluate_scale(ready, scale)

    def flush(self) -> None:
        """Write every scored cell still pending."""
        while self._pending:
            self._write_next()

    def _evaluate_scale(self, ready: list[tuple[Work, Scaled]], scale: int) -> None:
        try:
            lrs = self._lrs(ready, scale)
        except SrbenchError as exc:
            for work, _ in ready:
                self._fail_all(work, scale, exc)
            return
        names = dict.fromkeys(name for work, _ in ready for name, _ in work.todo[scale])
        for name in names:
            members = [
                (i, work, built)
                for i, (work, _) in enumerate(ready)
                for model, built in work.todo[scale]
                if model == name
            ]
            built = members[0][2]
            network = any(True for _ in built.module.parameters())
            srs: list[Tensor | None] = [None] * len(members)  # None: the task runs the model
            if self._pool is None or network:
                batch = lrs[[i for i, _, _ in members]] if len(ready) > 1 else lrs
                try:
                    srs = list(self._upscale(built, batch, scale))
                except Exception as exc:  # one crashing model never loses the other results
                    if len(members) == 1:
                        self._fail(members[0][1], built, scale, exc)
                        continue  # else each image is retried alone: only a failing one fails
            for (i, work, _), sr in zip(members, srs, strict=True):
                task = functools.partial(
                    self._task, built, scale, ready[i][1], lrs[i : i + 1], sr, work.ctx.specs
                )
                self._pending.append((work, built, scale, submit(self._pool, task)))
                while len(self._pending) > (0 if network else self._lag):
                    self._write_next()  # a network's next forward gets the cores to itself

    def _upscale(self, built: BuiltModel, lr: Tensor, scale: int) -> Tensor:
        return upscale(
            built.module, lr, scale, name=built.name, tile=self.tile, tile_overlap=self.tile_overlap
        )

    def _task(
        self,
        built: BuiltModel,
        scale: int,
        image: Scaled,
        lr: Tensor,
        sr: Tensor | None,
        specs: list[MetricSpec],
    ) -> _Outcome:
        """Forward (unless done) and score one cell; never raises for the model's faults."""
        try:
            if sr is None:
                sr = self._upscale(built, lr, scale)
            sr = sr[None] if sr.dim() == 3 else sr
            prepared = self.protocol.prepare(sr, image.hr, scale, source=image.source)
        except Exception as exc:  # one crashing model never loses the other results
            return _Outcome(failure=exc)
        values, errors = _score(prepared, specs)
        return _Outcome(values, errors)

    def _write_next(self) -> None:
        work, built, scale, future = self._pending.popleft()
        outcome = future.result()
        if outcome.failure is not None:
            self._fail(work, built, scale, outcome.failure)
            return
        ctx = work.ctx
        dtype = str(model_dtype(built.module)).removeprefix("torch.")
        rows = ctx.rows(
            built.name, built, scale, dtype=dtype, values=outcome.values, errors=outcome.errors
        )
        self.store.write(rows)
        self.summary.computed += 1
        for metric, (status, message) in outcome.errors.items():
            if status == "failed":
                self.summary.fail(
                    f"{built.name} {ctx.dataset}/{ctx.ref.image_id} x{scale} {metric}", message
                )

    def _lrs(self, ready: list[tuple[Work, Scaled]], scale: int) -> Tensor:
        """The LR batch on the device: the loader's, or made here (batched) and cached."""
        missing = [i for i, (_, scaled) in enumerate(ready) if scaled.lr is None]
        if missing:
            hr = torch.cat([ready[i][1].hr for i in missing])  # type: ignore[misc]
            made = self.protocol.make_lr(hr, scale)
            for j, i in enumerate(missing):
                ready[i][1].lr = made[j : j + 1]
                if self.cache is not None:
                    key = LrKey(ready[i][0].ctx.sha, scale, self.protocol.key, self.device.type)
                    self.cache.put(key, made[j : j + 1])
        lrs = [scaled.lr for _, scaled in ready]
        return lrs[0] if len(lrs) == 1 else torch.cat(lrs)  # type: ignore[return-value,arg-type]

    def _resolved(
        self, items: Iterable[tuple[Work, Future[Loaded | None]]]
    ) -> Iterator[tuple[Work, Loaded | None]]:
        for work, future in items:
            try:
                loaded = future.result()
            except Exception as exc:  # the loader died on this image: it fails, the run goes on
                for scale in work.todo:
                    self._fail_all(work, scale, exc)
                work.todo.clear()
                loaded = None
            if loaded is not None and loaded.error is not None:
                for scale in work.todo:
                    self._fail_all(work, scale, loaded.error)
                work.todo.clear()
                loaded = None
            yield work, loaded

    def _fail_all(self, work: Work, scale: int, exc: BaseException) -> None:
        for _, built in work.todo[scale]:
            self._fail(work, built, scale, exc)

    def _fail(self, work: Work, built: BuiltModel, scale: int, exc: BaseException) -> None:
        ctx = work.ctx
        message = f"{type(exc).__name__}: {exc}"
        self.store.write(ctx.rows(built.name, built, scale, error=message))
        self.summary.fail(f"{built.name} {ctx.dataset}/{ctx.ref.image_id} x{scale}", message)


def _batchable(group: list[_Item], loaded: Loaded | None, batch: int) -> bool:
    first = group[0][1]
    return (
        len(group) < batch
        and loaded is not None
        and first is not None
        and loaded.hr is not None
        and first.hr is not None
        and loaded.hr.shape == first.hr.shape
    )


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
