"""Shared click option types and the verbosity context used by every command."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from srbench.errors import ConfigError
from srbench.store.schema import STORE_FILE

if TYPE_CHECKING:
    import pandas as pd

    from srbench.executors import Executor

__all__ = [
    "IntList",
    "NameList",
    "State",
    "StoreTables",
    "data_root_option",
    "executor_from_context",
    "executor_options",
    "filter_options",
    "out_option",
    "parse_scales",
    "read_store",
]


@dataclass
class State:
    """Global CLI options: verbosity (-q = 0, default 1, -v = 2)."""

    verbosity: int = 1


class NameList(click.ParamType):
    """Comma-separated names, e.g. `bicubic,edsr-baseline`."""

    name = "names"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(value)
        names = tuple(v.strip() for v in str(value).split(",") if v.strip())
        if not names:
            self.fail("expected at least one name, e.g. a,b", param, ctx)
        return names


def parse_scales(text: str) -> tuple[int, ...]:
    """Parse `2,3,4` into integers >= 2, refusing 1, 0, negatives and non-integers."""
    scales = []
    for token in (t.strip() for t in text.split(",")):
        try:
            scale = int(token)
        except ValueError:
            raise ConfigError(
                f"--scales: {token!r} is not an integer", hint="use integers >= 2, e.g. 2,3,4"
            ) from None
        if scale < 2:
            raise ConfigError(f"--scales: {scale} is not supported", hint="use integers >= 2")
        scales.append(scale)
    return tuple(dict.fromkeys(scales))


class IntList(click.ParamType):
    """Comma-separated upscaling factors, e.g. `2,3,4`."""

    name = "scales"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(value)
        try:
            return parse_scales(str(value))
        except ConfigError as exc:
            self.fail(f"{exc} ({exc.hint})", param, ctx)


DEFAULT_OUT = Path("srbench-results")


def user_results_dir() -> Path:
    """Where results go when ./srbench-results cannot be written: $SRBENCH_HOME/results, else
    the platform's user data folder for srbench (e.g. ~/.local/share/srbench/results).
    Reads SRBENCH_HOME itself: `srbench.weights.cache.srbench_home` would import torch
    before the run's feed starts."""
    home = os.environ.get("SRBENCH_HOME")
    if home:
        return Path(home).expanduser() / "results"
    import platformdirs

    return Path(platformdirs.user_data_dir("srbench")) / "results"


def _writable(folder: Path) -> bool:
    """Whether `folder` is, or could be created as, a folder this process can write in."""
    probe = folder.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK)


def _resolve_out(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """The default results folder, unless it holds no store and cannot be written here (a
    read-only checkout): then `user_results_dir()`, or a folder in the system's temporary
    directory when that cannot be written either; said on stderr. A given --out stays."""
    default = ctx.get_parameter_source(param.name or "out") is click.core.ParameterSource.DEFAULT
    if not default:
        return value
    owner = os.getuid() if hasattr(os, "getuid") else "user"  # one folder per user
    scratch = Path(tempfile.gettempdir()) / f"srbench-{owner}" / "results"
    for candidate in (value, user_results_dir(), scratch):
        if (candidate / STORE_FILE).exists() or _writable(candidate):
            break
    if candidate != value:
        click.echo(
            f"srbench: {value} cannot be written here; results are in {candidate} "
            "(pass --out DIR to choose)",
            err=True,
        )
    return candidate


def out_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--out DIR`: the results directory holding the store (env SRBENCH_OUT)."""
    return click.option(
        "--out",
        type=click.Path(path_type=Path),
        envvar="SRBENCH_OUT",
        default=DEFAULT_OUT,
        show_default=True,
        callback=_resolve_out,
        help="Results directory holding the store (env SRBENCH_OUT). A default that cannot be "
        "written here (a read-only checkout) becomes $SRBENCH_HOME/results, else srbench's "
        "user data folder, else a folder in the system's temporary directory.",
    )(func)


def data_root_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--data-root DIR`: the folder holding Set5/, Set14/, ... (env SRBENCH_DATA_ROOT)."""
    return click.option(
        "--data-root",
        type=click.Path(path_type=Path),
        envvar="SRBENCH_DATA_ROOT",
        default=None,
        help="Folder holding Set5/, Set14/, ... (env SRBENCH_DATA_ROOT).",
    )(func)


_EXECUTOR_META = "srbench.executor"


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta.setdefault(_EXECUTOR_META, {})[param.name] = value
    return value


def _executor_option(*decls: str, **settings: Any) -> Callable[..., Any]:
    return click.option(*decls, expose_value=False, callback=_remember, **settings)


def executor_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--executor` and its settings; read them back with `executor_from_context()`."""
    options = [
        _executor_option(
            "--executor",
            default="local",
            show_default=True,
            help="Where the cells run: local, ray, or a plugin's executor (`srbench list "
            "executors`).",
        ),
        _executor_option(
            "--processes",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="local: run cells in this many worker processes (clamped to the cores); "
            "0 runs everything in this process.",
        ),
        _executor_option(
            "--ray-address",
            default=None,
            help="ray: `auto` (a running cluster), HOST:PORT, or `local` (start Ray here) "
            "[default: RAY_ADDRESS, else a cluster started on this machine, else local].",
        ),
        _executor_option(
            "--cpus-per-task",
            type=click.FloatRange(min=0, min_open=True),
            default=1.0,
            show_default=True,
            help="CPUs each cell asks for (and torch threads it uses).",
        ),
        _executor_option(
            "--gpus-per-task",
            type=click.FloatRange(min=0),
            default=0.0,
            show_default=True,
            help="ray: GPUs each cell asks for (e.g. 1, or 0.5 to share one); use with "
            "--device cuda.",
        ),
        _executor_option(
            "--retries",
            type=click.IntRange(min=0),
            default=2,
            show_default=True,
            help="Extra attempts for a cell whose worker died or raised, before it is "
            "recorded as failed.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def executor_from_context() -> Executor:
    """The executor the current command's `executor_options` describe."""
    from srbench.executors import ExecutorOptions, make_executor

    values = dict(click.get_current_context().meta[_EXECUTOR_META])
    name = values.pop("executor")
    values["address"] = values.pop("ray_address")
    return make_executor(name, ExecutorOptions(**values))


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--models`, `--datasets`, `--scales` as filters over stored results."""
    func = click.option("--scales", type=IntList(), default=None, help="Only these scales.")(func)
    func = click.option(
        "--datasets", "dataset_names", type=NameList(), default=None, help="Only these datasets."
    )(func)
    return click.option(
        "--models", "model_names", type=NameList(), default=None, help="Only these models."
    )(func)


@dataclass(frozen=True)
class StoreTables:
    """Everything a report or figure reads from a store, read in one go."""

    results: pd.DataFrame
    complexity: pd.DataFrame
    timing: pd.DataFrame
    runs: pd.DataFrame


def read_store(out: Path) -> StoreTables:
    """Read the results store in `out` (StoreError if there is none) and close it."""
    from srbench.store.sqlite import Store

    store = Store(out, create=False)
    try:
        return StoreTables(
            store.results(), store.table("complexity"), store.table("timing"), store.runs()
        )
    finally:
        store.close()
