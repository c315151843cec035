"""`srbench list`: what is registered, with where it comes from and one line about it."""

from __future__ import annotations

import click
from tabulate import tabulate

from srbench import registry

KINDS = {
    "models": registry.models,
    "datasets": registry.datasets,
    "metrics": registry.metrics,
    "losses": registry.losses,
    "protocols": registry.protocols,
    "executors": registry.executors,
}


@click.command(
    "list",
    epilog="""\b
Examples:
  srbench list models
  srbench --plugin my_sr.py list models""",
)
@click.argument("kind", type=click.Choice(list(KINDS)))
def list_(kind: str) -> None:
    """List registered models, datasets, metrics, losses, protocols or executors."""
    rows = [(e.name, e.origin, e.description) for e in KINDS[kind].entries()]
    if not rows:
        click.echo(f"no {kind} registered")
        return
    click.echo(tabulate(rows, headers=["name", "source", "description"], tablefmt="simple"))
