"""`srbench cache`: show or empty the caches of LR images ($SRBENCH_HOME/lr-cache) and FLOP
counts ($SRBENCH_HOME/complexity)."""

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
    """Inspect or empty the caches of protocol LR images and FLOP counts (both remade when
    missing)."""


@cache.command(epilog="Example:\n  srbench cache info")
def info() -> None:
    """Where the caches are, how many entries they hold and their size."""
    from srbench.engine.complexity import complexity_cache_info
    from srbench.engine.lrcache import LrCache

    found = LrCache().info()
    click.echo(f"LR cache {found.path}: {found.entries} LR images, {_megabytes(found.size_bytes)}")
    counts = complexity_cache_info()
    click.echo(f"FLOP counts {counts.path}: {counts.entries} entries (model, scale, input size)")


@cache.command(epilog="Example:\n  srbench cache clear")
def clear() -> None:
    """Delete every cached LR image and FLOP count (the next run makes them again)."""
    from srbench.engine.complexity import clear_complexity_cache
    from srbench.engine.lrcache import LrCache

    removed = LrCache().clear()
    click.echo(
        f"removed {removed.entries} LR images ({_megabytes(removed.size_bytes)}) "
        f"from {removed.path}"
    )
    counts = clear_complexity_cache()
    click.echo(f"removed {counts.entries} FLOP counts from {counts.path}")
