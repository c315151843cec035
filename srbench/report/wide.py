"""The paper layout: rows = models, column groups = dataset × scale, best/second marked.

Published reference rows (from `srbench/reference/published.csv`) are shown beneath the
measured ones for comparison and never take part in the ranking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from srbench.report.tables import DATASET_ORDER

HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "lpips": False}
DIGITS = {"psnr": 2, "ssim": 4, "lpips": 4}

__all__ = ["Cell", "WideRow", "WideTable", "wide_table"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One metric value in the wide table with its rank mark: 'best', 'second' or ''."""

    value: float
    mark: str = ""

    def text(self, metric: str) -> str:
        """The value at the metric's printed precision, or an en dash when missing."""
        return "–" if math.isnan(self.value) else f"{self.value:.{DIGITS.get(metric, 4)}f}"


@dataclass
class WideRow:
    """A model's cells per (dataset, scale), or the published reference for a model."""

    label: str
    published: bool
    cells: dict[tuple[str, int], dict[str, Cell]] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)


@dataclass
class WideTable:
    """Column groups, rows and the metrics shown in each cell (e.g. PSNR/SSIM)."""

    columns: list[tuple[str, int]]
    metrics: list[str]
    rows: list[WideRow]
    notes: list[str]
    extras: list[str] = field(default_factory=list)


def _label(model: str, tag: str) -> str:
    return f"{model}.{tag}" if tag else model


def _mark(rows: list[WideRow], column: tuple[str, int], metric: str) -> None:
    measured = [r for r in rows if not r.published and column in r.cells]
    values = sorted(
        {c.value for r in measured if not math.isnan((c := r.cells[column][metric]).value)},
        reverse=HIGHER_IS_BETTER.get(metric, True),
    )
    if len(measured) < 2:
        return
    for row in measured:
        cell = row.cells[column][metric]
        rank = values.index(cell.value) if cell.value in values else None
        if rank in (0, 1):
            row.cells[column][metric] = Cell(cell.value, ("best", "second")[rank])


def wide_table(
    summary: pd.DataFrame, metrics: Sequence[str] | None = None, *, published: bool = True
) -> WideTable:
    """Pivot a summary table (one row per model × dataset × scale) into the paper layout."""
    metrics = list(metrics or [m for m in ("psnr", "ssim", "lpips") if m in summary])
    columns = sorted(
        {(d, int(s)) for d, s in zip(summary["dataset"], summary["scale"], strict=True)},
        key=lambda c: (DATASET_ORDER.get(c[0], len(DATASET_ORDER)), c[0], c[1]),
    )
    rows: list[WideRow] = []
    notes: list[str] = []
    for (model, tag), group in summary.groupby(["model", "weights_tag"], sort=False):
        row = WideRow(_label(model, tag), published=False)
        ref = WideRow(f"{_label(model, tag)} (published)", published=True)
        for rec in group.itertuples():
            key = (rec.dataset, int(rec.scale))
            row.cells[key] = {m: Cell(float(getattr(rec, m))) for m in metrics}
            refs = {m: float(getattr(rec, f"{m}_published", math.nan)) for m in metrics}
            if any(not math.isnan(v) for v in refs.values()):
                ref.cells[key] = {m: Cell(v) for m, v in refs.items()}
            where = f"{row.label} {rec.dataset} x{rec.scale}"
            if rec.n_images == 0 and rec.note:
                notes.append(f"{where}: {' '.join(rec.note.split())}")
            elif rec.n_failed:
                notes.append(
                    f"{where}: {rec.n_failed} image(s) failed; mean over the other {rec.n_images}"
                )
            for metric, cell in row.cells[key].items():
                if math.isinf(cell.value):
                    notes.append(
                        f"{where}: {metric.upper()} is infinite for at least one image (MSE 0: "
                        "its output equals the HR where scored), so the mean is "
                        "too; `srbench report --per-image` lists the images"
                    )
        row.extras = _cost_columns(group)
        rows.append(row)
        if published and ref.cells:
            rows.append(ref)
    for column in columns:
        for metric in metrics:
            _mark(rows, column, metric)
    extras = list(dict.fromkeys(k for r in rows for k in r.extras))
    if "ms x2" in extras or any(k.startswith("ms x") for k in extras):
        timed = summary.dropna(subset=["median_ms"]).iloc[0]
        notes.append(
            f"ms: median forward latency on {timed.timing_device} ({timed.threads} threads), "
            f"LR {timed.timing_input}; Params at the smallest scale shown"
        )
    return WideTable(columns=columns, metrics=metrics, rows=rows, notes=notes, extras=extras)


def _cost_columns(group: pd.DataFrame) -> dict[str, str]:
    """'Params (M)' and 'ms x<s>' for a model's rows, where the store has them."""
    extras: dict[str, str] = {}
    if "params" in group and group["params"].notna().any():
        first = group.dropna(subset=["params"]).sort_values("scale").iloc[0]
        extras["Params (M)"] = f"{first.params / 1e6:.3f}"
    if "median_ms" in group:
        for scale, rows in group.dropna(subset=["median_ms"]).groupby("scale"):
            extras[f"ms x{scale}"] = f"{rows['median_ms'].iloc[0]:.1f}"
    return extras
