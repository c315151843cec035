"""Matplotlib figures: the classic SR visual comparison, PSNR scatter plots, per-image spread.

All figures are written as PNG or PDF (by the output's suffix). matplotlib is imported inside
each function, so `import srbench` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor

from srbench.errors import ConfigError

__all__ = ["Crop", "auto_box", "comparison_figure", "distribution_figure", "scatter_figure"]


@dataclass(frozen=True, slots=True)
class Crop:
    """One panel of the visual comparison: a label, the image region, and its PSNR."""

    label: str
    image: Tensor  # uint8 (C, H, W) of the whole image
    psnr: float | None


def auto_box(hr: Tensor, size: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the `size`-px square with the most gradient energy: where SR differs."""
    gray = hr.double().mean(dim=0)
    energy = (gray.diff(dim=0)[:, :-1] ** 2 + gray.diff(dim=1)[:-1] ** 2)[None, None]
    size = min(size, *energy.shape[-2:])
    pooled = torch.nn.functional.avg_pool2d(energy, size, stride=max(1, size // 4))
    index = int(pooled.flatten().argmax())
    y, x = divmod(index, pooled.shape[-1])
    stride = max(1, size // 4)
    return x * stride, y * stride, size, size


def _check_output(output: Path) -> None:
    if output.suffix.lower() not in (".png", ".pdf"):
        raise ConfigError(f"--output {output}: use a .png or .pdf file name")


def _save(fig: object, output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=200, bbox_inches="tight")  # type: ignore[attr-defined]
    return output


def _to_image(img: Tensor) -> object:
    array = img.permute(1, 2, 0).numpy()
    return array[..., 0] if array.shape[-1] == 1 else array


def comparison_figure(
    hr: Tensor, crops: Sequence[Crop], box: tuple[int, int, int, int], title: str, output: Path
) -> Path:
    """HR with the zoom box drawn, then each model's crop of that box with its PSNR beneath."""
    _check_output(output)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    x, y, w, h = box
    panels = [Crop("HR", hr, None), *crops]
    fig = plt.figure(figsize=(3.2 + 1.6 * len(panels), 3.4))
    grid = fig.add_gridspec(1, len(panels) + 2)
    ax = fig.add_subplot(grid[0, :2])
    ax.imshow(_to_image(hr), cmap="gray", vmin=0, vmax=255)
    ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor="red", linewidth=1.5))
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(grid[0, i + 2])
        ax.imshow(
            _to_image(panel.image[:, y : y + h, x : x + w]),
            cmap="gray",
            vmin=0,
            vmax=255,
            interpolation="nearest",
        )
        label = panel.label if panel.psnr is None else f"{panel.label}\n{panel.psnr:.2f} dB"
        ax.set_xlabel(label, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    result = _save(fig, output)
    plt.close(fig)
    return result


def scatter_figure(summary: pd.DataFrame, x: str, output: Path, *, x_label: str) -> Path:
    """Mean PSNR of each model against `x` (e.g. runtime or parameters), one panel per cell."""
    _check_output(output)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = list(summary.groupby(["dataset", "scale"], sort=False))
    fig, axes = plt.subplots(1, len(cells), figsize=(4 * len(cells), 3.4), squeeze=False)
    for ax, ((dataset, scale), group) in zip(axes[0], cells, strict=True):
        for row in group.itertuples():
            ax.scatter(getattr(row, x), row.psnr, s=30)
            ax.annotate(
                row.model,
                (getattr(row, x), row.psnr),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set_xscale("log")
        ax.set_xlabel(x_label)
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(f"{dataset} x{scale}", fontsize=9)
        ax.grid(alpha=0.3)
    result = _save(fig, output)
    plt.close(fig)
    return result


def distribution_figure(per_image: pd.DataFrame, metric: str, output: Path) -> Path:
    """Per-image `metric` of each model as box plots with the points, one panel per cell."""
    _check_output(output)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_image = per_image.dropna(subset=[metric])
    if per_image.empty:
        raise ConfigError(f"no per-image {metric} values to plot")
    cells = list(per_image.groupby(["dataset", "scale"], sort=False))
    width = max(3.5, 1.0 + 0.8 * per_image["model"].nunique())
    fig, axes = plt.subplots(1, len(cells), figsize=(width * len(cells), 3.6), squeeze=False)
    for ax, ((dataset, scale), group) in zip(axes[0], cells, strict=True):
        models = list(dict.fromkeys(group["model"]))
        data = [group[group["model"] == m][metric].to_numpy() for m in models]
        ax.boxplot(data, showfliers=False)
        for i, values in enumerate(data, start=1):
            jitter = torch.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else torch.zeros(1)
            ax.scatter((i + jitter).numpy(), values, s=8, alpha=0.7)
        ax.set_xticks(range(1, len(models) + 1), models, rotation=30, fontsize=7)
        ax.set_ylabel(metric.upper())
        ax.set_title(f"{dataset} x{scale} (n per model = {len(data[0])})", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    result = _save(fig, output)
    plt.close(fig)
    return result
