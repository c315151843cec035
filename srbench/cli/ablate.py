"""`srbench ablate`: loss-variant sweeps from the command line or a TOML file."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from srbench.cli.options import (
    IntList,
    NameList,
    State,
    executor_from_context,
    executor_options,
    parse_scales,
)
from srbench.cli.train import TRAIN_KEYS, shared_settings, train_options
from srbench.errors import ConfigError

_EPILOG = """\b
Examples:
  srbench ablate --model drn-gs --losses l1,l1+dual,gs,gs+dual --preset ci
  srbench ablate --model spnet --preset ci --report results/ablations/spnet-ci.md
  srbench ablate --config sweep.toml --seeds 0,1,2
\b
TOML keys: models, losses (list) or [variants.<model>] (label = spec), reference,
seeds, scales, datasets, metrics, data, preset, steps, batch_size, patch_size,
learning_rate, min_learning_rate, val_images, checkpoint_every, [model_options.<model>]."""

TOML_KEYS = {
    "models",
    "losses",
    "variants",
    "reference",
    "seeds",
    "scales",
    "datasets",
    "metrics",
    "data",
    "preset",
    "model_options",
    *TRAIN_KEYS,
}

DISCLAIMER = (
    "These are small CPU training runs: they compare loss variants under one tiny budget and "
    "do not reach the papers' quality. They are not the papers' results and must not be "
    "quoted as such."
)


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(
            f"--seeds: {text!r} is not a list of integers", hint="e.g. 0,1,2"
        ) from None
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds: {text!r} must list integers >= 0", hint="e.g. 0,1,2")
    return seeds


def _joined(values: Any) -> str:
    """A TOML list (or one value) as the comma-separated text the options parse."""
    return ",".join(map(str, values)) if isinstance(values, list | tuple) else str(values)


def _read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--config {path}: {exc}") from exc
    unknown = sorted(set(data) - TOML_KEYS)
    if unknown:
        raise ConfigError(
            f"--config {path}: unknown key(s) {', '.join(unknown)}",
            hint=f"known keys: {', '.join(sorted(TOML_KEYS))}",
        )
    return data


def _variants(models: tuple[str, ...], losses: Any, table: dict[str, Any]) -> dict[str, dict]:
    """label → spec per model: --losses / `losses` for every model, else `[variants.<model>]`,
    else the model's default variants."""
    from srbench.train.ablate import DEFAULT_VARIANTS
    from srbench.train.losses import split_specs

    if isinstance(losses, str):
        losses = split_specs(losses)
    out = {}
    for model in models:
        if losses:
            out[model] = {spec: spec for spec in losses}
        else:
            out[model] = dict(table.get(model) or DEFAULT_VARIANTS.get(model, {}))
    return out


def _markdown(result: Any, config: Any, command: str, settings: dict[str, Any]) -> str:
    """The report: provenance, the disclaimer, then one table per metric."""
    import torch

    from srbench.store.sqlite import cpu_name

    steps = sorted({r["step"] for r in result.runs})
    lines = [
        "# Loss-variant ablation",
        "",
        f"Command: `{command}`",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- hardware: {cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch "
        f"threads, device {config.device}; torch {torch.__version__}, Python "
        f"{platform.python_version()}; load average at the end {os.getloadavg()[0]:.1f} "
        "(other jobs on the machine slow the wall times down)",
        f"- models: {', '.join(config.models)}; options {dict(config.model_options)}",
        f"- training: steps {', '.join(map(str, steps))}, seeds {list(config.seeds)}, "
        f"scales {list(config.scales)}, settings {settings}",
        f"- training data: {_describe_data(config.data)}",
        f"- evaluation: {', '.join(config.datasets)}, protocol {config.protocol}",
        f"- wall time: training {result.train_seconds:.0f} s, evaluation "
        f"{result.eval_seconds:.0f} s",
        "",
        f"**{DISCLAIMER}**",
        "",
        "Cells are the dataset mean (of per-image scores) averaged over seeds, ± the sample "
        "standard deviation over seeds when there are several; Δ is the difference to the "
        "reference variant (ref).",
    ]
    for metric, table in result.tables.items():
        lines += ["", f"## {metric.upper()}", "", table]
    return "\n".join(lines) + "\n"


def _describe_data(data: Any) -> str:
    if isinstance(data, Path):
        return str(data)
    return "the embedded sample photos (" + ", ".join(Path(p).name for p in data) + ")"


@click.command(epilog=_EPILOG)
@click.option(
    "--models",
    "--model",
    "model_names",
    type=NameList(),
    default=None,
    help="Models to train [default: drn-gs].",
)
@click.option(
    "--losses",
    default=None,
    help="Comma-separated loss specs, one variant each [default: the model's variants].",
)
@click.option("--reference", default=None, help="Variant the Δ column compares with [first].")
@click.option("--seeds", default=None, help="Comma-separated seeds [0].")
@click.option("--scales", type=IntList(), default=None, help="Upscaling factors [4].")
@click.option(
    "--datasets",
    "dataset_names",
    type=NameList(),
    default=None,
    help="Evaluation sets [default: Set5,Set14 under the data root, else the samples].",
)
@click.option("--metrics", "metric_names", type=NameList(), default=None, help="[psnr,ssim].")
@click.option("--preset", type=click.Choice(["ci"]), default=None, help="Fill unset options.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML file describing the sweep; command-line options override it.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("srbench-ablate"),
    show_default=True,
    help="Work folder: runs/, cache/, eval/ (the results store) and ablation.md.",
)
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the markdown report here.",
)
@train_options
@executor_options
@click.pass_obj
def ablate(
    state: State,
    model_names: tuple[str, ...] | None,
    losses: str | None,
    reference: str | None,
    seeds: str | None,
    scales: tuple[int, ...] | None,
    dataset_names: tuple[str, ...] | None,
    metric_names: tuple[str, ...] | None,
    preset: str | None,
    config_file: Path | None,
    out: Path,
    report: Path | None,
    **shared: Any,
) -> None:
    """Train one model per loss variant (× seeds, scales) and tabulate them with Δ."""
    from srbench.train.ablate import PRESETS, AblationConfig
    from srbench.train.ablate import ablate as run_ablation

    toml = _read_toml(config_file)
    preset = preset or toml.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ConfigError(
            f"--config: unknown preset {preset!r}", hint=f"use one of {list(PRESETS)}"
        )
    base = dict(PRESETS[preset]) if preset else {}
    base.update({k: v for k, v in toml.items() if k in TRAIN_KEYS})
    if shared["data"] is None and "data" in toml:
        shared["data"] = str(toml["data"])
    data, root, cli_options, cli_settings = shared_settings(shared)
    settings = {k: base[k] for k in TRAIN_KEYS if k in base} | cli_settings
    models = model_names or tuple(toml.get("models", ("drn-gs",)))
    model_options = {m: dict(base.get("model_options", {}).get(m, {})) for m in models}
    for m in models:
        model_options[m].update(toml.get("model_options", {}).get(m, {}))
        model_options[m].update(cli_options)
    default_sets = ("set5", "set14") if root is not None and (root / "Set5").is_dir() else ()
    ref = reference or toml.get("reference")
    config = AblationConfig(
        models=models,
        variants=_variants(models, losses or toml.get("losses"), toml.get("variants", {})),
        reference={m: ref for m in models} if ref else {},
        data=data,
        data_root=root,
        out=out,
        datasets=dataset_names or tuple(toml.get("datasets", default_sets or ("samples",))),
        scales=scales or parse_scales(_joined(toml.get("scales", base.get("scales", (4,))))),
        seeds=_seeds(seeds or _joined(toml.get("seeds", base.get("seeds", (0,))))),
        model_options=model_options,
        train=settings,
        metrics=metric_names or tuple(toml.get("metrics", ("psnr", "ssim"))),
        device=shared["device"],
    )
    command = shlex.join(["srbench", *sys.argv[1:]])
    began = time.perf_counter()
    echo = click.echo if state.verbosity > 0 else (lambda _: None)
    with executor_from_context() as executor:
        result = run_ablation(config, command=command, echo=echo, executor=executor)
    text = _markdown(result, config, command, settings)
    text += f"\nTotal wall time of the command: {time.perf_counter() - began:.0f} s.\n"
    if result.failures:
        text += "\nFailed (not in the tables):\n" + "".join(f"- {f}\n" for f in result.failures)
    (out / "ablation.md").write_text(text)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text)
    click.echo(text)
    if result.failures:
        sys.exit(1)
