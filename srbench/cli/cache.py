"""`srbench cache`: show or empty the LR cache ($SRBENCH_HOME/lr-cache)."""

from __future__ import annotations

import click


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@click.group(
    epilog="""\b
Examples:
  srbench cache info
  srbench cache clear"""
)
def cache() -> None:
    """Inspect or empty the cache of protocol LR images (regenerated when missing)."""


@cache.command(epilog="Example:\n  srbench cache info")
def info() -> None:
    """Where the LR cache is, how many LR images it holds and their size."""
    from srbench.engine.lrcache import LrCache

    found = LrCache().info()
    click.echo(f"LR cache {found.path}: {found.entries} LR images, {_megabytes(found.size_bytes)}")


@cache.command(epilog="Example:\n  srbench cache clear")
def clear() -> None:
    """Delete every cached LR image (the next run makes them again)."""
    from srbench.engine.lrcache import LrCache

    removed = LrCache().clear()
    click.echo(
        f"removed {removed.entries} LR images ({_megabytes(removed.size_bytes)}) "
        f"from {removed.path}"
    )
