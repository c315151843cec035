"""`srbench weights`: list, fetch, verify and import the checkpoints registered models declare."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from tabulate import tabulate

from srbench.cli.options import IntList
from srbench.errors import WeightsError
from srbench.weights.schema import Weights


def _scales_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option("--scales", type=IntList(), default=None, help="Only these scales.")(f)


@click.group(
    epilog="""\b
Examples:
  srbench weights list
  srbench weights fetch srcnn vdsr
  srbench weights import ~/Downloads/edsr_baseline_x2-1bc95232.pt
  srbench weights verify"""
)
def weights() -> None:
    """List, download, verify or import model checkpoints (cache: $SRBENCH_HOME/weights)."""


def _published(w: Weights) -> str:
    if w.published is None:
        return ""
    cells = [f"{d} {m} {v:g}" for (d, m), v in w.published.values.items() if m == "psnr"]
    return f"{', '.join(cells[:2])}{' …' if len(cells) > 2 else ''} [{w.published.protocol}]"


@weights.command("list", epilog="Examples:\n  srbench weights list\n  srbench weights list srcnn")
@click.argument("names", nargs=-1)
@_scales_option
def list_(names: tuple[str, ...], scales: tuple[int, ...] | None) -> None:
    """Show every known checkpoint: scale, default, format, size, cached, published numbers.

    NAMES: `all` (default), a model (`srcnn`), or model.tag (`srcnn.imagenet-955`).
    """
    from srbench.registry import models
    from srbench.weights import cache_path, resolve, weights_enum

    rows = []
    for model, w in resolve(names or ("all",), scales):
        default = weights_enum(models.get(model)).default(w.scale)  # type: ignore[union-attr]
        size = f"{w.file_bytes / 1e6:.1f}" if w.file_bytes else "?"
        cached = "yes" if cache_path(model, w).is_file() else "no"
        is_default = "*" if default is not None and default.meta is w else ""
        rows.append(
            (f"{model}.{w.tag}", w.scale, is_default, w.format, size, cached, _published(w))
        )
    headers = ["weights", "scale", "default", "format", "MB", "cached", "published"]
    click.echo(tabulate(rows, headers=headers, tablefmt="simple"))


@weights.command(epilog="Examples:\n  srbench weights fetch all\n  srbench weights fetch vdsr")
@click.argument("names", nargs=-1)
@_scales_option
def fetch(names: tuple[str, ...], scales: tuple[int, ...] | None) -> None:
    """Download checkpoints into the cache (needs internet), checking each SHA-256.

    NAMES: `all` (default), a model, or model.tag. Files already cached are kept.
    """
    from srbench.weights import install, resolve, verify_cached
    from srbench.weights.cache import download, weights_dir

    failures = 0
    for model, w in resolve(names or ("all",), scales):
        ref = f"{model}.{w.tag} x{w.scale}"
        try:
            path, _ = verify_cached(model, w)
        except WeightsError:
            weights_dir().mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=weights_dir(), prefix=".download-") as tmp:
                try:
                    path = install(model, w, download(w, Path(tmp)))
                except WeightsError as exc:
                    click.echo(f"{ref}: {exc}", err=True)
                    failures += 1
                    continue
        click.echo(f"{ref}: {path}")
    if failures:
        raise SystemExit(1)


@weights.command(epilog="Examples:\n  srbench weights verify\n  srbench weights verify vdsr")
@click.argument("names", nargs=-1)
@_scales_option
def verify(names: tuple[str, ...], scales: tuple[int, ...] | None) -> None:
    """Check the SHA-256 of every cached checkpoint; exit 1 if one is corrupt.

    NAMES: `all` (default), a model, or model.tag. Checkpoints not in the cache are listed
    as missing (not an error).
    """
    from srbench.weights import cache_path, resolve, verify_cached

    bad = 0
    for model, w in resolve(names or ("all",), scales):
        ref = f"{model}.{w.tag} x{w.scale}"
        if not cache_path(model, w).is_file():
            click.echo(f"{ref}: missing")
            continue
        try:
            verify_cached(model, w)
        except WeightsError as exc:
            click.echo(f"{ref}: BAD: {exc}", err=True)
            bad += 1
            continue
        click.echo(f"{ref}: ok")
    if bad:
        raise SystemExit(1)


@weights.command(
    "import",
    epilog="""\b
Examples:
  srbench weights import model_epoch_50.pth
  srbench weights import x2.mat
  srbench weights import my_model.pth --allow-class mypkg.Net --out my_model.state_dict.pt""",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--allow-class",
    "allow_classes",
    multiple=True,
    metavar="MODULE.NAME",
    help="A model class the pickle may name; it is recorded as data, never imported.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="For a file srbench does not know: write its state dict here instead.",
)
def import_(path: Path, allow_classes: tuple[str, ...], out: Path | None) -> None:
    """Put a checkpoint file obtained elsewhere into the cache, converted to a state dict.

    The file is recognised by its SHA-256. Pickled model objects and SRCNN .mat files are
    read without running any code from them; srbench loads the converted state dict after.
    """
    import torch

    from srbench.data.io import sha256_file
    from srbench.metrics.lpips import import_backbone, is_backbone_file
    from srbench.weights import by_digest, cache_path, install
    from srbench.weights.load import convert, sniff_format

    if out is not None:
        torch.save(convert(path, sniff_format(path), allow_classes=allow_classes), out)
        click.echo(f"{path}: state dict written to {out}")
        return
    digest = sha256_file(path)
    if is_backbone_file(digest):  # the LPIPS metric's AlexNet backbone
        click.echo(f"lpips: {import_backbone(path)}")
        return
    known = by_digest(digest)
    if not known:
        raise WeightsError(
            f"{path} (SHA-256 {digest}) is not a checkpoint any registered model declares",
            hint="see `srbench weights list`; to convert it anyway, pass --out FILE",
        )
    done: set[Path] = set()
    for model, w in known:
        target = cache_path(model, w)
        if target not in done:  # one file can serve several scales (VDSR)
            install(model, w, path, allow_classes=allow_classes)
            done.add(target)
        click.echo(f"{model}.{w.tag} x{w.scale}: {target}")
