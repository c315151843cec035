"""`srbench figures`: visual comparison crops, per-image distributions, PSNR scatter plots."""

from __future__ import annotations

from pathlib import Path

import click

from srbench.cli.options import (
    IntList,
    NameList,
    data_root_option,
    filter_options,
    out_option,
    read_store,
)

OUTPUT = click.option(
    "--output", type=click.Path(path_type=Path), required=True, help="Figure file, .png or .pdf."
)


@click.group(
    epilog="""\b
Examples:
  srbench figures compare --models bicubic,srcnn --dataset Set5 --image butterfly --scale 4 \\
      --output butterfly.png
  srbench figures distribution --metric psnr --output spread.pdf"""
)
def figures() -> None:
    """Paper figures from models and stored results (matplotlib, PNG or PDF)."""


@figures.command(
    epilog="""\b
Example:
  srbench figures compare --models bicubic,srcnn --dataset Set14 --image zebra --scale 4 \\
      --box 120,80,64,64 --output zebra.pdf"""
)
@click.option("--models", "model_names", type=NameList(), required=True, help="Models to show.")
@click.option("--dataset", required=True, help="Dataset holding the image, e.g. Set5.")
@click.option("--image", "image_id", required=True, help="Image id (file stem), e.g. butterfly.")
@click.option("--scale", type=int, default=4, show_default=True, help="Upscaling factor.")
@click.option(
    "--box",
    default=None,
    metavar="X,Y,W,H",
    help="Zoom region in HR pixels [default: the square with the most detail].",
)
@click.option(
    "--box-size", type=int, default=64, show_default=True, help="Side of the automatic zoom box."
)
@data_root_option
@click.option("--protocol", default="paper", show_default=True, help="Evaluation protocol.")
@OUTPUT
def compare(
    model_names: tuple[str, ...],
    dataset: str,
    image_id: str,
    scale: int,
    box: str | None,
    box_size: int,
    data_root: Path | None,
    protocol: str,
    output: Path,
) -> None:
    """HR with a zoom box, and each model's output on that box with its PSNR."""
    from srbench.data.io import read_image
    from srbench.data.sets import resolve_data_root
    from srbench.errors import ConfigError
    from srbench.metrics.psnr import psnr
    from srbench.models import build_model
    from srbench.models.adapter import upscale
    from srbench.protocol import get_protocol, quantize
    from srbench.registry import datasets
    from srbench.report.figures import Crop, auto_box, comparison_figure

    proto = get_protocol(protocol)
    refs = datasets.get(dataset).images(
        resolve_data_root(str(data_root) if data_root else None), scale
    )
    ref = next((r for r in refs if r.image_id == image_id), None)
    if ref is None:
        raise ConfigError(
            f"--image: {dataset} has no image {image_id!r}",
            hint=f"its images: {', '.join(r.image_id for r in refs)}",
        )
    hr = proto.crop_hr(read_image(ref.path)[None], scale)
    lr = proto.make_lr(hr, scale)
    crops = []
    for name in model_names:
        built = build_model(name, scale=scale)
        sr = quantize(upscale(built.module, lr, scale, name=name))
        score = psnr(*proto.prepare(sr, hr, scale).view("y255")).item()
        crops.append(Crop(name, sr[0], score))
    if box is None:
        region = auto_box(hr[0], box_size)
    else:
        try:
            x, y, w, h = (int(v) for v in box.split(","))
        except ValueError:
            raise ConfigError(f"--box {box!r}: expected X,Y,W,H integers") from None
        region = (x, y, w, h)
    title = f"{dataset}/{image_id} x{scale} ({proto.key})"
    click.echo(comparison_figure(hr[0], crops, region, title, output))


@figures.command(epilog="Example:\n  srbench figures distribution --metric ssim --output s.png")
@out_option
@click.option("--metric", default="psnr", show_default=True, help="Metric to plot.")
@filter_options
@OUTPUT
def distribution(
    out: Path,
    metric: str,
    model_names: tuple[str, ...] | None,
    dataset_names: tuple[str, ...] | None,
    scales: tuple[int, ...] | None,
    output: Path,
) -> None:
    """Per-image spread of a metric for each model, one panel per dataset and scale."""
    from srbench.report.figures import distribution_figure
    from srbench.report.tables import per_image_table

    rows = read_store(out).results
    table = per_image_table(rows, models=model_names, datasets=dataset_names, scales=scales)
    click.echo(distribution_figure(table, metric, output))


@figures.command(epilog="Example:\n  srbench figures scatter --x params --output psnr_params.png")
@out_option
@click.option(
    "--x",
    "axis",
    type=click.Choice(["runtime", "params", "macs"]),
    default="runtime",
    show_default=True,
    help="Horizontal axis: median latency, parameters or MACs.",
)
@click.option(
    "--datasets", "dataset_names", type=NameList(), default=None, help="Only these datasets."
)
@click.option("--scales", type=IntList(), default=None, help="Only these scales.")
@OUTPUT
def scatter(
    out: Path,
    axis: str,
    dataset_names: tuple[str, ...] | None,
    scales: tuple[int, ...] | None,
    output: Path,
) -> None:
    """Mean PSNR of each model against its latency, parameters or MACs."""
    from srbench.errors import ConfigError
    from srbench.report.figures import scatter_figure
    from srbench.report.tables import summary_table, with_costs

    stored = read_store(out)
    table = summary_table(stored.results, datasets=dataset_names, scales=scales)
    table = with_costs(table, stored.complexity, stored.timing)
    column, label = {
        "runtime": ("median_ms", "median latency (ms)"),
        "params": ("params", "parameters"),
        "macs": ("macs", "MACs"),
    }[axis]
    table = table[table.get(column, 0) > 0] if column in table else table.iloc[0:0]
    if table.empty:
        raise ConfigError(
            f"no stored {axis} figures above zero to plot",
            hint="run with --timing quick or full first",
        )
    click.echo(scatter_figure(table, column, output, x_label=label))
