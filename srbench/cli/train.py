"""`srbench train`: train a registered model from a folder of HR images into one checkpoint."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from srbench.cli.options import State
from srbench.data.sets import resolve_data_root

_EPILOG = """\b
Examples:
  srbench train --model drn-gs --option preset=tiny --scale 2 --loss gs+dual --steps 300 \\
      --out runs/drn-gs-tiny
  srbench train --model spnet --scale 4 --loss image+boundary+residual+l1 --data DIR --out runs/sp
  srbench train --model drn-gs --option preset=tiny --scale 2 --out runs/drn-gs-tiny --resume
  srbench list losses"""


def train_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The training options `srbench train` and `srbench ablate` share."""
    options = [
        click.option("--steps", type=int, default=None, help="Training steps [default: 1000]."),
        click.option("--batch-size", type=int, default=None, help="Patches per step [16]."),
        click.option(
            "--patch-size",
            type=int,
            default=None,
            help="HR patch side in px, a multiple of the scale [96].",
        ),
        click.option(
            "--learning-rate", type=float, default=None, help="Adam's initial rate [1e-4]."
        ),
        click.option(
            "--min-learning-rate", type=float, default=None, help="End of the cosine decay [1e-7]."
        ),
        click.option(
            "--val-images",
            type=int,
            default=None,
            help="Images held out of the training data for validation PSNR [2].",
        ),
        click.option(
            "--checkpoint-every", type=int, default=None, help="Steps between checkpoints [100]."
        ),
        click.option(
            "--option",
            "model_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Model constructor option, repeatable, e.g. --option preset=tiny.",
        ),
        click.option(
            "--data",
            default=None,
            help="Folder of HR training images, or `samples` [default: <data root>/train/T91 "
            "if present, else the embedded sample photos].",
        ),
        click.option(
            "--data-root",
            type=click.Path(path_type=Path),
            envvar="SRBENCH_DATA_ROOT",
            default=None,
            help="Folder holding Set5/, train/T91/, ... (env SRBENCH_DATA_ROOT).",
        ),
        click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cuda."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


TRAIN_KEYS = (
    "steps",
    "batch_size",
    "patch_size",
    "learning_rate",
    "min_learning_rate",
    "val_images",
    "checkpoint_every",
)


def shared_settings(
    shared: dict[str, Any],
) -> tuple[Path | tuple[Path, ...], Path | None, dict[str, str], dict[str, Any]]:
    """(training data, data root, model options, the training settings given) from the
    options of `train_options`."""
    from srbench.train.data import resolve_train_data
    from srbench.train.options import parse_pairs

    root = resolve_data_root(str(shared["data_root"]) if shared["data_root"] else None)
    data = resolve_train_data(shared["data"], root)
    model_options = parse_pairs(shared["model_options"], "--option")
    settings = {k: shared[k] for k in TRAIN_KEYS if shared[k] is not None}
    return data, root, model_options, settings


@click.command(epilog=_EPILOG)
@click.option("--model", required=True, help="Registered model name, e.g. drn-gs or spnet.")
@click.option("--scale", type=int, default=4, show_default=True, help="Upscaling factor.")
@click.option(
    "--loss", default="l1", show_default=True, help="Loss spec, e.g. gs+0.1*dual (see SPEC §6)."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Run folder: checkpoint.pt, model.py (a --plugin file registering it for `srbench "
    "run`) and the LR/boundary cache go here.",
)
@click.option("--resume", is_flag=True, help="Continue the checkpoint in --out.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Initialisation and patch seed."
)
@click.option(
    "--val-every",
    type=int,
    default=0,
    show_default=True,
    help="Validate every N steps (0: at the end).",
)
@click.option(
    "--boundary",
    default="canny",
    show_default=True,
    help="Boundary ground truth for the `boundary` loss: canny or module:function.",
)
@click.option("--protocol", default="paper", show_default=True, help="Protocol making the LR.")
@click.option("--amp", is_flag=True, help="Mixed precision (float16) on CUDA.")
@train_options
@click.pass_obj
def train(
    state: State,
    model: str,
    scale: int,
    loss: str,
    out: Path,
    resume: bool,
    seed: int,
    val_every: int,
    boundary: str,
    protocol: str,
    amp: bool,
    **shared: Any,
) -> None:
    """Train a registered model on HR images with a composable loss; resumable checkpoints."""
    from srbench.train.checkpoint import register_trained, write_plugin
    from srbench.train.loop import TrainConfig
    from srbench.train.loop import train as run_training

    data, _, model_options, settings = shared_settings(shared)
    config = TrainConfig(
        model=model,
        scale=scale,
        data=data,
        out=out,
        loss=loss,
        model_options=model_options,
        seed=seed,
        val_every=val_every,
        boundary=boundary,
        protocol=protocol,
        device=shared["device"],
        amp=amp,
        **settings,
    )
    progress = state.verbosity > 0 and sys.stderr.isatty()
    result = run_training(config, resume=resume, progress=progress)
    plugin = write_plugin(result.checkpoint)
    if state.verbosity > 0:
        last = result.history[-1] if result.history else {}
        val = f", validation PSNR {last['val_psnr']:.2f} dB" if "val_psnr" in last else ""
        done = "was already trained" if result.resumed_from == result.step else "trained"
        click.echo(
            f"{config.model} x{config.scale} {done} to step {result.step}{val} "
            f"in {result.seconds:.0f} s: {result.checkpoint}\nevaluate it with: srbench "
            f"--plugin {plugin} run --models {register_trained(result.checkpoint)} "
            f"--scales {config.scale}"
        )
