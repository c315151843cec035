"""Render tables as terminal text, markdown, LaTeX (booktabs), csv or json.

Human formats (table, markdown, latex) use the paper layout of `wide.py`; csv and json
keep one machine-readable row per (model, dataset, scale) or per image at full precision.
"""

from __future__ import annotations

import math

import pandas as pd
from tabulate import tabulate

from srbench.report.tables import protocol_keys
from srbench.report.wide import WideTable, wide_table

FORMATS = ("table", "markdown", "csv", "latex", "json")

MARKUP = {
    "table": {"best": "{}*", "second": "{}_"},
    "markdown": {"best": "**{}**", "second": "<u>{}</u>"},
    "latex": {"best": "\\textbf{{{}}}", "second": "\\underline{{{}}}"},
}

__all__ = ["FORMATS", "footnote", "render"]


def footnote(table: pd.DataFrame, *, marks: bool = True) -> str:
    """Protocol(s), cell format and marks, for a caption or footer."""
    keys = protocol_keys(table)
    mixed = " (mixed protocols: compare rows only within one protocol)" if len(keys) > 1 else ""
    text = f"Protocol: {', '.join(keys)}{mixed}. PSNR (dB) / SSIM on the Y channel"
    if "lpips" in table:
        text += "; LPIPS (AlexNet v0.1, lower is better) on RGB"
    return text + (". Best and second best per column are marked." if marks else ".")


def _cell(wide: WideTable, row_cells: dict, column: tuple[str, int], fmt: str) -> str:
    cells = row_cells.get(column)
    if cells is None:
        return ""
    parts = []
    for metric in wide.metrics:
        cell = cells[metric]
        text = cell.text(metric)
        parts.append(MARKUP[fmt][cell.mark].format(text) if cell.mark else text)
    return "/".join(parts)


def _latex_escape(text: str) -> str:
    return text.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("&", "\\&")


def _latex(wide: WideTable, caption: str, notes: list[str]) -> str:
    groups: dict[str, list[int]] = {}
    for dataset, scale in wide.columns:
        groups.setdefault(dataset, []).append(scale)
    spec = "l" + "".join(" " + "c" * len(scales) for scales in groups.values())
    spec += " " + "r" * len(wide.extras) if wide.extras else ""
    top = ["Method"]
    rules, first = [], 2
    for dataset, scales in groups.items():
        top.append(f"\\multicolumn{{{len(scales)}}}{{c}}{{{_latex_escape(dataset)}}}")
        rules.append(f"\\cmidrule(lr){{{first}-{first + len(scales) - 1}}}")
        first += len(scales)
    top += [_latex_escape(extra) for extra in wide.extras]
    lines = [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(top) + " \\\\",
        "".join(rules),
        " & ".join(["", *(f"$\\times{s}$" for _, s in wide.columns), *([""] * len(wide.extras))])
        + " \\\\",
        "\\midrule",
    ]
    for row in wide.rows:
        label = _latex_escape(row.label)
        cells = [_cell(wide, row.cells, c, "latex") for c in wide.columns]
        if row.published:
            label = f"\\textit{{{label}}}"
            cells = [f"\\textit{{{c}}}" if c else c for c in cells]
        extras = [row.extras.get(e, "") for e in wide.extras]
        lines.append(" & ".join([label, *cells, *extras]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", f"% {caption}"]
    lines += [f"% {_latex_escape(n)}" for n in notes]
    return "\n".join(lines) + "\n"


def standalone_latex(body: str) -> str:
    """Wrap a tabular in a document that compiles on its own (`--standalone`)."""
    return (
        "\\documentclass{standalone}\n\\usepackage{booktabs}\n\\begin{document}\n"
        f"{body}\\end{{document}}\n"
    )


def render(table: pd.DataFrame, fmt: str, *, per_image: bool = False) -> str:
    """The table as text in `fmt` (one of FORMATS); `per_image` tables stay long."""
    if fmt == "csv":
        return table.to_csv(index=False, float_format="%.6g")
    if fmt == "json":
        return table.to_json(orient="records", indent=2)
    if per_image:
        return _long(table, fmt)
    wide = wide_table(table)
    caption = footnote(table)
    if fmt == "latex":
        return _latex(wide, caption, wide.notes)
    headers = ["model", *(f"{d} x{s}" for d, s in wide.columns), *wide.extras]
    body = [
        [
            row.label,
            *(_cell(wide, row.cells, c, fmt) for c in wide.columns),
            *(row.extras.get(e, "") for e in wide.extras),
        ]
        for row in wide.rows
    ]
    style = "github" if fmt == "markdown" else "simple"
    text = tabulate(body, headers=headers, tablefmt=style, disable_numparse=True)
    legend = " (* best, _ second)" if fmt == "table" else ""
    notes = "".join(f"\n- {n}" for n in wide.notes)
    return f"{text}\n\n{caption}{legend}{notes}\n"


def _long(table: pd.DataFrame, fmt: str) -> str:
    shown = table.assign(protocol=table["protocol"] + "@" + table["protocol_version"].astype(str))
    hidden = ("protocol_version", "weights_tag", "weights_sha256")
    shown = shown.drop(columns=[c for c in hidden if c in table])
    if "error" in shown and not shown["error"].astype(bool).any():
        shown = shown.drop(columns="error")

    def fmt_value(column: str, value: object) -> object:
        if isinstance(value, float):
            digits = 2 if column == "psnr" else 4
            return "–" if math.isnan(value) else f"{value:.{digits}f}"
        return " ".join(value.split()) if isinstance(value, str) else value

    shown = pd.DataFrame({c: [fmt_value(c, v) for v in shown[c]] for c in shown.columns})
    if fmt == "latex":
        return (
            tabulate(
                shown,
                headers="keys",
                tablefmt="latex_booktabs",
                showindex=False,
                disable_numparse=True,
            )
            + f"\n% {footnote(table, marks=False)}\n"
        )
    style = "github" if fmt == "markdown" else "simple"
    text = tabulate(shown, headers="keys", tablefmt=style, showindex=False, disable_numparse=True)
    return f"{text}\n\n{footnote(table, marks=False)}\n"
