"""`srbench data`: check local dataset copies against manifests, or download them."""

from __future__ import annotations

from pathlib import Path

import click

from srbench.cli.options import data_root_option
from srbench.data.sets import resolve_data_root
from srbench.registry import datasets


@click.group(
    epilog="""\b
Examples:
  srbench data verify Set5 --data-root ../data
  srbench data fetch Urban100"""
)
def data() -> None:
    """Verify or fetch benchmark datasets."""


@data.command(epilog="Example:\n  srbench data verify Set5 --data-root ../data")
@click.argument("name")
@data_root_option
@click.option(
    "--scale",
    type=int,
    default=2,
    show_default=True,
    help="Scale whose HR files to check (SelfExSR layout keeps one HR per scale).",
)
def verify(name: str, data_root: Path | None, scale: int) -> None:
    """Check every image of a dataset against its SHA-256 manifest; name known-bad copies."""
    from srbench.data.manifest import verify as verify_set

    root = resolve_data_root(str(data_root) if data_root else None)
    result = verify_set(datasets.get(name), root, scale)
    click.echo(result.summary())
    if not result.ok:
        raise SystemExit(1)


@data.command(epilog="Example:\n  srbench data fetch Set14")
@click.argument("name")
def fetch(name: str) -> None:
    """Download a dataset into the user cache (needs internet); prints where it went."""
    from srbench.data.download import fetch_dataset

    click.echo(fetch_dataset(name))
