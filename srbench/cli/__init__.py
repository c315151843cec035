"""The `srbench` command: a click group whose subcommands live one per module here.

A subcommand's module is imported only when that command runs (or help lists it), so that
`srbench run` can start decoding images before it imports torch (`srbench.cli.run`).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

import click

import srbench
from srbench.cli.options import State
from srbench.errors import SrbenchError
from srbench.registry import load_plugin

__all__ = ["entry", "heavy_imports", "main"]

_OWNS_PROCESS = False  # set by `entry`: the garbage collector is srbench's to tune


_COMMANDS = {
    "ablate": "ablate:ablate",
    "cache": "cache:cache",
    "data": "data:data",
    "figures": "figures:figures",
    "list": "listing:list_",
    "report": "report:report",
    "results": "results:results",
    "run": "run:run",
    "train": "train:train",
    "weights": "weights:weights",
}


class _Group(click.Group):
    """Imports each subcommand when it is asked for, and turns srbench errors into a message
    and the error's exit code (2 usage, 1 failure)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[cmd_name].split(":")
        with heavy_imports():
            command: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        return command

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


def entry() -> None:
    """The `srbench` executable: `main` in a process that skips pointless garbage collection.

    Python's collections, and the last ones at exit, would traverse every object that torch,
    numba and pandas create on import: measured on the 2-core VM, 0.8 s of every process's
    exit, and a third of the collections during a run. They are never garbage, so they are
    moved out of the collector's sight (`gc.freeze`) after start-up and again at exit, and
    none is collected while they are imported (`heavy_imports`). The process then ends
    without tearing the interpreter down (`_exit`).
    """
    global _OWNS_PROCESS
    _OWNS_PROCESS = True
    gc.freeze()
    atexit.register(gc.freeze)
    try:
        main()
    except SystemExit as exc:  # click ends every command so, in its standalone mode
        _exit(exc.code)


def _exit(code: object) -> NoReturn:
    """End the process as `sys.exit(code)` would, less the interpreter's teardown.

    Freeing every object that torch, numba and pandas made, and torch's C++ destructors,
    took 0.1-0.2 s of one core at the end of every command that imported them (measured on
    the 2-core VM); mypy ends its runs this way for the same reason. The exit handlers
    (`atexit`, a plugin's among them) still run and every output is flushed; while a
    non-daemon thread is still running, the normal exit waits for it instead.
    """
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # as the interpreter says a SystemExit's message
        code = 1
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    status = code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the interpreter's own exit says 120
            status = status or 120
    import ctypes

    ctypes.CDLL(None).fflush(None)  # what C libraries wrote through stdio
    os._exit(status)


@contextlib.contextmanager
def heavy_imports() -> Iterator[None]:
    """Collect no garbage while a command imports torch and the rest, then freeze what they
    made; only in `entry`'s process (a host such as pytest keeps its own collector).

    Without it, importing what `srbench run` needs ran 5 full collections over the objects
    imported so far: 0.28 s of one core, holding the GIL, before the first image is scored.
    """
    if not _OWNS_PROCESS:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
