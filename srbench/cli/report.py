"""`srbench report`: render the results stored in a results directory."""

from __future__ import annotations

from pathlib import Path

import click

from srbench.cli.options import filter_options, out_option, read_store
from srbench.errors import ConfigError
from srbench.report.render import FORMATS, render, standalone_latex
from srbench.report.tables import per_image_table, summary_table, with_costs


@click.command(
    epilog="""\b
Examples:
  srbench report
  srbench report --format latex > table.tex
  srbench report --format csv --per-image --datasets Set5"""
)
@out_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--per-image", is_flag=True, help="One row per image instead of dataset means.")
@click.option("--standalone", is_flag=True, help="LaTeX: a whole document that compiles alone.")
@filter_options
@click.option("--protocol", default=None, help="Only this protocol (`name` or `name@version`).")
@click.option(
    "--allow-mixed-protocols",
    is_flag=True,
    help="Allow results of different protocols in one table (footnoted).",
)
def report(
    out: Path,
    fmt: str,
    per_image: bool,
    standalone: bool,
    model_names: tuple[str, ...] | None,
    dataset_names: tuple[str, ...] | None,
    scales: tuple[int, ...] | None,
    protocol: str | None,
    allow_mixed_protocols: bool,
) -> None:
    """Print a table of stored results: dataset means (default) or per-image rows."""
    stored = read_store(out)
    build = per_image_table if per_image else summary_table
    table = build(
        stored.results,
        models=model_names,
        datasets=dataset_names,
        scales=scales,
        protocol=protocol,
        allow_mixed_protocols=allow_mixed_protocols,
    )
    if not per_image:
        table = with_costs(table, stored.complexity, stored.timing)
    text = render(table, fmt, per_image=per_image)
    if standalone:
        if fmt != "latex":
            raise ConfigError("--standalone applies to --format latex only")
        text = standalone_latex(text)
    click.echo(text, nl=False)
