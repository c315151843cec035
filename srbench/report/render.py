"""Render a summary or per-image table as csv, markdown, latex (booktabs), json or terminal."""

from __future__ import annotations

import math

import pandas as pd
from tabulate import tabulate

from srbench.report.tables import protocol_keys

FORMATS = ("table", "markdown", "csv", "latex", "json")

# Printed precision per column family in human-facing formats; csv/json keep full precision.
DIGITS = {"psnr": 2, "ssim": 4, "lpips": 4, "delta": 2}

__all__ = ["FORMATS", "render"]


def _fmt(column: str, value: object) -> object:
    if isinstance(value, str):
        return " ".join(value.split())
    if not isinstance(value, float):
        return value
    if math.isnan(value):
        return "–"
    family = "delta" if column.endswith("_delta") else column.removesuffix("_published")
    digits = DIGITS.get(family, 4)
    return f"{value:+.{digits}f}" if family == "delta" else f"{value:.{digits}f}"


def _human(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.assign(protocol=table["protocol"] + "@" + table["protocol_version"].astype(str))
    shown = shown.drop(columns=[c for c in ("protocol_version", "weights_tag") if c in table])
    if "note" in shown and not shown["note"].astype(bool).any():
        shown = shown.drop(columns="note")
    return pd.DataFrame({c: [_fmt(c, v) for v in shown[c]] for c in shown.columns})


def footnote(table: pd.DataFrame) -> str:
    """The protocol(s) the table's numbers were computed under, for a caption or footer."""
    keys = protocol_keys(table)
    mixed = " (mixed protocols: compare rows only within one protocol)" if len(keys) > 1 else ""
    return f"Protocol: {', '.join(keys)}{mixed}. PSNR in dB / SSIM on the Y channel."


def render(table: pd.DataFrame, fmt: str) -> str:
    """The table as text in `fmt` (one of FORMATS)."""
    if fmt == "csv":
        return table.to_csv(index=False, float_format="%.6g")
    if fmt == "json":
        return table.to_json(orient="records", indent=2)
    shown = _human(table)
    if fmt == "latex":
        body = tabulate(
            shown, headers="keys", tablefmt="latex_booktabs", showindex=False, disable_numparse=True
        )
        return f"{body}\n% {footnote(table)}\n"
    style = "github" if fmt == "markdown" else "simple"
    body = tabulate(shown, headers="keys", tablefmt=style, showindex=False, disable_numparse=True)
    return f"{body}\n\n{footnote(table)}\n"
