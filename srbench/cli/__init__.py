"""The `srbench` command: a click group whose subcommands live one per module here."""

from __future__ import annotations

import atexit
import gc
import logging
import sys
from typing import Any

import click

import srbench
from srbench.cli.options import State
from srbench.errors import SrbenchError
from srbench.registry import load_plugin

__all__ = ["entry", "main"]


class _Group(click.Group):
    """Turns srbench errors into a message and the error's exit code (2 usage, 1 failure)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SrbenchError as exc:
            click.echo(f"srbench: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(
    cls=_Group,
    epilog="""\b
Examples:
  srbench run --models all
  srbench run --models bicubic --datasets Set5,Set14 --scales 2,3,4 --data-root DIR
  srbench report --format latex > table.tex
  srbench list models""",
)
@click.version_option(srbench.__version__, prog_name="srbench")
@click.option("-v", "--verbose", "verbose", count=True, help="More output (-v, -vv).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and requested output.")
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    envvar="SRBENCH_PLUGINS",
    metavar="MODULE_OR_FILE",
    help="Import a plugin module or .py file first (repeatable; env SRBENCH_PLUGINS).",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, plugins: tuple[str, ...]) -> None:
    """Benchmark single-image super-resolution models with a paper-exact protocol."""
    level = 0 if quiet else 1 + verbose
    ctx.obj = State(verbosity=level)
    logging.basicConfig(
        level={0: logging.ERROR, 1: logging.WARNING}.get(level, logging.INFO),
        format="srbench: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    for plugin in plugins:
        try:
            load_plugin(plugin)
        except SrbenchError:
            raise
        except Exception as exc:
            raise click.UsageError(f"--plugin {plugin}: failed to import: {exc}") from exc


def _register_commands() -> None:
    from srbench.cli.ablate import ablate
    from srbench.cli.cache import cache
    from srbench.cli.data import data
    from srbench.cli.figures import figures
    from srbench.cli.listing import list_
    from srbench.cli.report import report
    from srbench.cli.results import results
    from srbench.cli.run import run
    from srbench.cli.train import train
    from srbench.cli.weights import weights

    for command in (run, report, list_, data, results, figures, weights, train, ablate, cache):
        main.add_command(command)


_register_commands()


def entry() -> None:
    """The `srbench` executable: `main` in a process that skips pointless garbage collection.

    Python's collections, and the last ones at exit, would traverse every object that torch,
    numba and pandas create on import: measured on the 2-core VM, 0.8 s of every process's
    exit, and a third of the collections during a run. They are never garbage, so they are
    moved out of the collector's sight (`gc.freeze`) after start-up and again at exit.
    """
    gc.freeze()
    atexit.register(gc.freeze)
    main()
