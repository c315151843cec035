"""`srbench results`: inspect runs in a store, compare two runs, export rows."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd
from tabulate import tabulate

from srbench.cli.options import out_option, read_store
from srbench.errors import ConfigError, StoreError
from srbench.report.render import render


def _run_rows(runs: pd.DataFrame, rows: pd.DataFrame, run_id: str) -> pd.DataFrame:
    matches = [r for r in runs["run_id"] if r.startswith(run_id)]
    if len(matches) != 1:
        known = ", ".join(runs["run_id"].tail(5))
        what = "no run" if not matches else f"{len(matches)} runs"
        raise ConfigError(f"{what} matching {run_id!r}", hint=f"recent runs: {known}")
    return rows[rows["run_id"] == matches[0]]


def _means(rows: pd.DataFrame) -> pd.Series:
    ok = rows[rows["status"] == "ok"]
    key = ["model", "weights_tag", "dataset", "scale", "protocol", "metric"]
    return ok.groupby(key)["value"].mean()


@click.group(
    epilog="""\b
Examples:
  srbench results list
  srbench results show 18eac6
  srbench results diff 18eac6 18eb01
  srbench results export --format parquet --output rows.parquet"""
)
def results() -> None:
    """List, show, compare and export the runs stored in a results directory."""


@results.command("list", epilog="Example:\n  srbench results list --out srbench-results")
@out_option
def list_runs(out: Path) -> None:
    """One line per run: id, start, status, rows stored, command."""
    stored = read_store(out)
    runs, rows = stored.runs, stored.results
    counts = rows.groupby("run_id").size()
    table = [
        (r.run_id, r.started_at[:19], r.status, int(counts.get(r.run_id, 0)), r.command)
        for r in runs.itertuples()
    ]
    click.echo(tabulate(table, headers=["run_id", "started (UTC)", "status", "rows", "command"]))


@results.command(epilog="Example:\n  srbench results show 18eac6")
@click.argument("run_id")
@out_option
def show(run_id: str, out: Path) -> None:
    """A run's provenance (versions, device, git commit, config) and its dataset means."""
    stored = read_store(out)
    runs, rows = stored.runs, stored.results
    selected = _run_rows(runs, rows, run_id)
    run = runs[runs["run_id"] == selected["run_id"].iloc[0]].iloc[0] if len(selected) else None
    if run is None:
        raise StoreError(f"run {run_id!r} stored no results")
    for column in runs.columns:
        value = run[column]
        if column == "config":
            value = json.dumps(json.loads(value), indent=None)
        click.echo(f"{column:>16}: {value}")
    from srbench.report.tables import summary_table

    click.echo("")
    click.echo(render(summary_table(selected, allow_mixed_protocols=True), "table"), nl=False)


@results.command(epilog="Example:\n  srbench results diff 18eac6 18eb01")
@click.argument("run_a")
@click.argument("run_b")
@out_option
def diff(run_a: str, run_b: str, out: Path) -> None:
    """Per-cell means of two runs and their difference (B − A); cells in only one run too."""
    stored = read_store(out)
    runs, rows = stored.runs, stored.results
    a = _means(_run_rows(runs, rows, run_a)).rename("a")
    b = _means(_run_rows(runs, rows, run_b)).rename("b")
    table = pd.concat([a, b], axis=1).reset_index()
    table["b_minus_a"] = table["b"] - table["a"]
    click.echo(tabulate(table, headers="keys", showindex=False, floatfmt=".6g"))


@results.command(epilog="Example:\n  srbench results export --format csv --output rows.csv")
@out_option
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="File to write every stored row to, with its run's provenance.",
)
def export(out: Path, fmt: str, output: Path) -> None:
    """Export every per-image row joined with its run's provenance (CSV or Parquet)."""
    stored = read_store(out)
    runs, rows = stored.runs, stored.results
    table = rows.merge(
        runs.drop(columns=["torch", "num_threads", "device_name"]),
        on="run_id",
        suffixes=("", "_run"),
    )
    if fmt == "parquet":
        try:
            table.to_parquet(output, index=False)
        except ImportError as exc:
            raise ConfigError(
                "parquet export needs pyarrow", hint="pip install pyarrow, or use --format csv"
            ) from exc
    else:
        table.to_csv(output, index=False)
    click.echo(f"wrote {len(table)} rows to {output}")
