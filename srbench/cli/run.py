"""`srbench run`: evaluate models on datasets at scales and store every per-image result.

The command starts the run's image feed before it imports the engine (torch takes about
two seconds of one core to import), so that the images are hashed and decoded meanwhile.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from srbench.cli import heavy_imports
from srbench.cli.options import (
    IntList,
    NameList,
    State,
    data_root_option,
    executor_from_context,
    executor_options,
    out_option,
)
from srbench.data.feed import ImageFeed, feed_images
from srbench.data.forked import fork_is_safe
from srbench.data.sets import resolve_data_root
from srbench.engine.config import MODEL_DTYPES, TIMING_MODES, RunConfig
from srbench.errors import SrbenchError
from srbench.executors import Executor
from srbench.registry import datasets, models

STANDARD_SETS = ("set5", "set14", "b100", "urban100")


def default_datasets(data_root: Path | None) -> tuple[str, ...]:
    """The standard sets present under the data root, or the embedded samples without one."""
    if data_root is None:
        return ("samples",)
    present = []
    for name in STANDARD_SETS:
        try:
            datasets.get(name).images(data_root, 2)
        except Exception:  # absent or unreadable sets are simply not defaults
            continue
        present.append(name)
    return tuple(present) or ("samples",)


@click.command(
    epilog="""\b
Examples:
  srbench run --models all
  srbench run --models bicubic --datasets Set5,Set14 --scales 2,3,4 --data-root ../data
  srbench run --plugin my_sr.py --models espcn-lite --metrics psnr,ssim
  srbench run --models srcnn --weights srcnn.imagenet-915 --scales 3 --protocol srcnn-matlab
  srbench run --models edsr --tile 256 --tile-overlap 16
  srbench run --models edsr-baseline --device cuda --batch 8 --dtype float16
  srbench run --models all --executor ray --ray-address auto --gpus-per-task 1 --device cuda"""
)
@click.option(
    "--models",
    "model_names",
    type=NameList(),
    required=True,
    help="Comma-separated model names, or `all` for every registered model.",
)
@click.option(
    "--datasets",
    "dataset_names",
    type=NameList(),
    default=None,
    help="Comma-separated datasets [default: the standard sets under --data-root, "
    "else the embedded samples].",
)
@click.option(
    "--scales",
    type=IntList(),
    default="2,3,4",
    show_default=True,
    help="Upscaling factors, e.g. 2,3,4.",
)
@click.option(
    "--metrics",
    "metric_names",
    type=NameList(),
    default="psnr,ssim",
    show_default=True,
    help="Comma-separated metrics.",
)
@data_root_option
@out_option
@click.option(
    "--protocol",
    default="paper",
    show_default=True,
    help="Evaluation protocol, `name` or `name@version`.",
)
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cuda:0.")
@click.option(
    "--weights",
    "weights",
    type=NameList(),
    default=(),
    help="Checkpoints to use instead of the defaults, as model.tag, e.g. srcnn.imagenet-915 "
    "(see `srbench weights list`).",
)
@click.option(
    "--tile",
    type=click.IntRange(min=1),
    default=None,
    help="Run models on overlapping tiles of this many LR pixels (bounds memory), e.g. 256.",
)
@click.option(
    "--tile-overlap",
    type=click.IntRange(min=0),
    default=16,
    show_default=True,
    help="LR pixels of context each tile reads beyond the part it keeps.",
)
@click.option(
    "--timing",
    type=click.Choice(TIMING_MODES),
    default="quick",
    show_default=True,
    help="Latency per model and scale: quick (96x96 LR, 5 repeats), full (LR of a 720p "
    "output, 10 repeats after 3 warm-ups) or off. Parameters and MACs are always counted.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Threads that decode images and make LR ahead of the models, and as many that score "
    "their output [default: the cores available]; 0 does everything in the main thread; "
    "more than the cores is clamped to the cores.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Consecutive images of equal size per forward pass (worth it on CUDA).",
)
@click.option(
    "--dtype",
    type=click.Choice(MODEL_DTYPES),
    default=None,
    help="Compute models with parameters in this dtype [default: their own]; metrics are "
    "always computed from the uint8 output.",
)
@click.option("--force", is_flag=True, help="Recompute results already in the store.")
@executor_options
@click.pass_obj
def run(
    state: State,
    model_names: tuple[str, ...],
    dataset_names: tuple[str, ...] | None,
    scales: tuple[int, ...],
    metric_names: tuple[str, ...],
    data_root: Path | None,
    out: Path,
    protocol: str,
    device: str,
    force: bool,
    weights: tuple[str, ...],
    tile: int | None,
    tile_overlap: int,
    timing: str,
    workers: int | None,
    batch: int,
    dtype: str | None,
) -> None:
    """Evaluate models and store per-image PSNR/SSIM (and more) with full provenance."""
    from tqdm import tqdm

    from srbench.engine.memory import keep_freed_memory

    keep_freed_memory()  # this process is ours: reuse freed blocks instead of page-faulting
    root = resolve_data_root(str(data_root) if data_root else None)
    names = tuple(models.names()) if model_names == ("all",) else model_names
    config = RunConfig(
        models=names,
        datasets=dataset_names or default_datasets(root),
        scales=scales,
        metrics=metric_names,
        data_root=root,
        out=out,
        protocol=protocol,
        device=device,
        force=force,
        weights=weights,
        tile=tile,
        tile_overlap=tile_overlap,
        timing=timing,  # type: ignore[arg-type]
        workers=workers,
        batch=batch,
        dtype=dtype,
    )
    with executor_from_context() as executor, _early_feed(config, executor) as feed:
        # the bar after the feed: its monitor thread would keep the feed from forking
        bar = tqdm(unit="img", disable=state.verbosity == 0 or not sys.stderr.isatty(), leave=False)
        try:
            with heavy_imports():
                from srbench.engine.run import run as run_sweep

            summary = run_sweep(
                config,
                command=" ".join(sys.argv),
                progress=bar.update,
                executor=executor,
                feed=feed,
            )
        finally:
            bar.close()
    if state.verbosity > 0:
        from srbench.report.render import render
        from srbench.report.tables import summary_table, with_costs
        from srbench.store.sqlite import Store

        store = Store(out, create=False)
        table = summary_table(
            store.results(),
            models=names,
            datasets=config.datasets,
            scales=scales,
            protocol=protocol,
        )
        table = with_costs(table, store.table("complexity"), store.table("timing"))
        store.close()
        click.echo(render(table, "table"))
        click.echo(
            f"run {summary.run_id}: {summary.computed} scored, {summary.reused} reused from {out}"
        )
    for line in summary.skipped:
        click.echo(f"skipped: {line}", err=True)
    if not summary.ok:
        click.echo(f"{len(summary.failures)} failure(s); the other results are stored.", err=True)
        sys.exit(1)


def _early_feed(config: RunConfig, executor: Executor) -> ImageFeed | contextlib.nullcontext[None]:
    """The run's image feed, started now; none when the run will not use one, or when the
    sets cannot be listed. The run lists the sets again and reports what is wrong with them,
    errors and warnings (a set's image count), once and in its usual order of checks."""
    if executor.distributed or config.workers == 0:
        return contextlib.nullcontext()
    try:
        specs = [datasets.get(name) for name in config.datasets]
        return feed_images(
            specs, config.data_root, config.scales, quiet=True, process=fork_is_safe()
        )
    except SrbenchError:
        return contextlib.nullcontext()
