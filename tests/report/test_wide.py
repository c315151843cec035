"""The paper layout: column groups, best/second marks, published rows outside the ranking."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from srbench.report.render import render, standalone_latex
from srbench.report.tables import summary_table
from srbench.report.wide import wide_table


def _summary(values: dict[str, float]) -> pd.DataFrame:
    rows = []
    for model, psnr in values.items():
        for metric, value in (("psnr", psnr), ("ssim", psnr / 40)):
            rows.append(
                {
                    "model": model,
                    "weights_tag": "",
                    "weights_sha256": "",
                    "dataset": "Set5",
                    "scale": 2,
                    "protocol": "paper",
                    "protocol_version": 1,
                    "image_id": "a",
                    "metric": metric,
                    "value": value,
                    "status": "ok",
                    "error": None,
                    "created_at": "1",
                }
            )
    return summary_table(pd.DataFrame(rows))


def test_best_and_second_are_marked_and_published_is_not_ranked() -> None:
    wide = wide_table(_summary({"bicubic": 33.0, "srcnn": 36.0, "vdsr": 35.0}))
    marks = {r.label: r.cells[("Set5", 2)]["psnr"].mark for r in wide.rows}
    assert marks["srcnn"] == "best" and marks["vdsr"] == "second" and marks["bicubic"] == ""
    assert marks["srcnn (published)"] == "" and marks["bicubic (published)"] == ""
    published = next(r for r in wide.rows if r.label == "bicubic (published)")
    assert published.cells[("Set5", 2)]["psnr"].value == 33.66


def test_markdown_and_latex_markup() -> None:
    table = _summary({"bicubic": 33.0, "srcnn": 36.0})
    markdown = render(table, "markdown")
    assert "**36.00**" in markdown and "<u>33.00</u>" in markdown
    latex = render(table, "latex")
    assert "\\textbf{36.00}" in latex and "\\underline{33.00}" in latex
    assert "\\multicolumn{1}{c}{Set5}" in latex and "\\textit{bicubic (published)}" in latex


def test_single_model_gets_no_marks() -> None:
    assert "**" not in render(_summary({"bicubic": 33.0}), "markdown")


def test_standalone_latex_compiles_when_a_tex_engine_is_installed(tmp_path: Path) -> None:
    document = standalone_latex(render(_summary({"bicubic": 33.0, "srcnn": 36.0}), "latex"))
    assert document.startswith("\\documentclass{standalone}")
    assert document.count("\\begin{tabular}") == document.count("\\end{tabular}") == 1
    engine = shutil.which("pdflatex") or shutil.which("lualatex")
    if engine is None:
        pytest.skip("no TeX engine installed; structure checked above")
    (tmp_path / "t.tex").write_text(document)
    done = subprocess.run(
        [engine, "-interaction=nonstopmode", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]


def test_an_infinite_mean_is_footnoted() -> None:
    summary = _summary({"bicubic": float("inf"), "srcnn": 36.0})
    summary.loc[summary["model"] == "bicubic", "ssim"] = 1.0
    assert wide_table(summary).notes == [
        "bicubic Set5 x2: PSNR is infinite for at least one image (MSE 0: its output equals "
        "the HR where scored), so the mean is too; `srbench report --per-image` lists the images"
    ]
