"""The command line: help, exit codes (0 ok, 1 failure, 2 usage), run → report round trip."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import srbench
from srbench.cli import main

# The synthetic sets are smaller than the real ones on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Set5 has .* images, expected 5")


def _invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args))


def _dataset(root: Path, n: int = 2) -> Path:
    folder = root / "Set5"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (26, 22, 3), dtype=np.uint8)).save(
            folder / f"im{i}.png"
        )
    return root


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path, through the same lookup click uses (the group loads lazily)."""
    found = [prefix]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        if isinstance(cmd, click.Group):
            found += _commands(cmd, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command_module_is_found() -> None:
    assert len(_commands(main)) == 26  # the group, 10 commands, 15 subcommands of 5 groups


@pytest.mark.parametrize("path", _commands(main))
def test_every_command_has_help_with_examples(path: tuple[str, ...]) -> None:
    result = _invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_options_use_the_project_vocabulary() -> None:
    banned = {"--sf", "--upscale", "--factor", "--scale-factor", "--checkpoint", "--ckpt"}
    for path in _commands(main):
        text = _invoke(*path, "--help").output
        assert not [b for b in banned if b in text.split()], path


def test_version() -> None:
    result = _invoke("--version")
    assert result.exit_code == 0 and srbench.__version__ in result.output


def test_run_then_report_round_trip(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data")
    out = str(tmp_path / "out")
    result = _invoke(
        "run",
        "--models",
        "bicubic",
        "--datasets",
        "Set5",
        "--scales",
        "2,3",
        "--data-root",
        str(root),
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "bicubic" in result.output and "paper@1" in result.output
    csv = _invoke("report", "--out", out, "--format", "csv")
    assert csv.exit_code == 0
    header, *lines = csv.output.strip().splitlines()
    assert header.startswith("model,")
    for column in ("model", "dataset", "scale", "psnr", "ssim", "n_images"):
        assert column in header.split(",")
    assert len(lines) == 2 and all(",2," in line or ",3," in line for line in lines)
    per_image = _invoke("report", "--out", out, "--format", "csv", "--per-image")
    assert len(per_image.output.strip().splitlines()) == 1 + 2 * 2
    latex = _invoke("report", "--out", out, "--format", "latex")
    assert "\\toprule" in latex.output and "paper@1" in latex.output
    markdown = _invoke("report", "--out", out, "--format", "markdown")
    assert markdown.output.startswith("| model")
    again = _invoke(
        "run",
        "--models",
        "bicubic",
        "--datasets",
        "Set5",
        "--scales",
        "2,3",
        "--data-root",
        str(root),
        "--out",
        out,
    )
    assert "0 scored, 4 reused" in again.output


@pytest.mark.parametrize("scales", ["1", "0", "-2", "2.5", "x"])
def test_bad_scales_are_usage_errors(scales: str, tmp_path: Path) -> None:
    result = _invoke("run", "--models", "bicubic", "--scales", scales, "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "--scales" in result.output


def test_unknown_model_is_a_usage_error_with_suggestion(tmp_path: Path) -> None:
    result = _invoke("run", "--models", "bicubc", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "no model named 'bicubc'" in result.output and "'bicubic'" in result.output


def test_unknown_dataset_is_a_usage_error(tmp_path: Path) -> None:
    result = _invoke("run", "--models", "bicubic", "--datasets", "Set6", "--out", str(tmp_path))
    assert result.exit_code == 2 and "no dataset named 'Set6'" in result.output


def test_missing_data_root_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = _invoke(
        "run",
        "--models",
        "bicubic",
        "--datasets",
        "Set5",
        "--data-root",
        str(missing),
        "--out",
        str(tmp_path / "out"),
    )
    assert result.exit_code != 0 and str(missing) in result.output


def test_a_failed_image_gives_exit_code_1_and_keeps_the_rest(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", n=3)
    (root / "Set5" / "im1.png").write_text("not an image")
    out = str(tmp_path / "out")
    result = _invoke(
        "run",
        "--models",
        "bicubic",
        "--datasets",
        "Set5",
        "--scales",
        "2",
        "--data-root",
        str(root),
        "--out",
        out,
    )
    assert result.exit_code == 1
    assert "im1" in result.output
    csv = _invoke("report", "--out", out, "--format", "csv").output
    row = pd.read_csv(io.StringIO(csv)).iloc[0]
    assert row["n_images"] == 2 and row["n_failed"] == 1


def test_a_default_results_folder_that_cannot_be_written_moves_to_the_user_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only checkout: the run stores under $SRBENCH_HOME/results and says so, and the
    report finds it there; an --out that cannot be written still fails, naming the fix."""
    root = _dataset(tmp_path / "data")
    work = tmp_path / "checkout"
    work.mkdir()
    (work / "srbench-results").write_text("not a folder")  # stands for a read-only checkout
    monkeypatch.chdir(work)
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    common = ["--models", "bicubic", "--datasets", "Set5", "--scales", "2"]
    result = _invoke("run", *common, "--data-root", str(root))
    assert result.exit_code == 0, result.output
    moved = tmp_path / "home" / "results"
    assert f"results are in {moved}" in result.output
    assert (moved / "results.sqlite").is_file()
    csv = _invoke("report", "--format", "csv")
    assert csv.exit_code == 0 and "bicubic" in csv.output
    given = _invoke("run", *common, "--data-root", str(root), "--out", "srbench-results")
    assert given.exit_code == 1
    assert "cannot create results directory" in given.output and "--out DIR" in given.output


def test_with_no_user_folder_to_write_either_the_results_go_to_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only checkout and a read-only home: the run still stores, in the system's
    temporary folder, and says where; the report finds the results there."""
    root = _dataset(tmp_path / "data")
    work = tmp_path / "checkout"
    work.mkdir()
    (work / "srbench-results").write_text("not a folder")  # stands for a read-only checkout
    (tmp_path / "home").write_text("not a folder")  # and for a home that cannot be written
    monkeypatch.chdir(work)
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    common = ["--models", "bicubic", "--datasets", "Set5", "--scales", "2"]
    result = _invoke("run", *common, "--data-root", str(root))
    assert result.exit_code == 0, result.output
    (moved,) = (tmp_path / "tmp").glob("srbench-*/results")
    assert f"results are in {moved}" in result.output
    assert (moved / "results.sqlite").is_file()
    csv = _invoke("report", "--format", "csv")
    assert csv.exit_code == 0 and "bicubic" in csv.output


def test_report_without_a_store_fails_clearly(tmp_path: Path) -> None:
    result = _invoke("report", "--out", str(tmp_path / "none"))
    assert result.exit_code == 1 and "no results store" in result.output


def test_report_filter_matching_nothing_fails(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data", n=1)
    out = str(tmp_path / "out")
    _invoke(
        "run",
        "--models",
        "bicubic",
        "--datasets",
        "Set5",
        "--scales",
        "2",
        "--data-root",
        str(root),
        "--out",
        out,
    )
    result = _invoke("report", "--out", out, "--models", "edsr")
    assert result.exit_code == 1 and "no stored results match" in result.output


def test_list_models_shows_bicubic_with_description() -> None:
    result = _invoke("list", "models")
    assert result.exit_code == 0
    line = next(x for x in result.output.splitlines() if x.startswith("bicubic"))
    assert "srbench (built-in)" in line and "MATLAB bicubic" in line


def _stored_values(out: Path) -> pd.DataFrame:
    from srbench.store.sqlite import Store

    store = Store(out, create=False)
    rows = store.results()
    store.close()
    key = ["model", "dataset", "image_id", "scale", "metric"]
    return rows[[*key, "value"]].sort_values(key).reset_index(drop=True)


def test_run_on_worker_processes_stores_what_the_in_process_run_stores(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "data")
    common = ["-q", "run", "--models", "bicubic", "--datasets", "Set5", "--scales", "2,3"]
    common += ["--data-root", str(root), "--timing", "off", "--out"]
    cells = ["--executor", "local", "--processes", "2"]
    for label, extra in {"inline": [], "cells": cells}.items():
        result = _invoke(*common, str(tmp_path / label), *extra)
        assert result.exit_code == 0, result.output
    cells = _stored_values(tmp_path / "cells")
    assert len(cells) == 2 * 2 * 2
    pd.testing.assert_frame_equal(cells, _stored_values(tmp_path / "inline"), check_exact=True)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--executor", "rey"], "no executor named 'rey'"),
        (["--ray-address", "auto"], "--ray-address applies to --executor ray only"),
    ],
)
def test_executor_mistakes_are_usage_errors(extra: list[str], message: str, tmp_path: Path) -> None:
    result = _invoke("run", "--models", "bicubic", "--out", str(tmp_path), *extra)
    assert result.exit_code == 2 and message in result.output


def test_run_decodes_in_a_forked_child_where_safe_with_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from srbench.cli import run as run_module
    from srbench.data import feed as feed_module

    root = _dataset(tmp_path / "data", n=3)
    modes: list[bool] = []
    real = feed_module.ImageFeed.__init__

    def recording(self, paths, **kwargs):  # type: ignore[no-untyped-def]
        modes.append(kwargs.get("process", False))
        real(self, paths, **kwargs)

    monkeypatch.setattr(feed_module.ImageFeed, "__init__", recording)
    per_image = {}
    for safe in (True, False):
        monkeypatch.setattr(run_module, "fork_is_safe", lambda safe=safe: safe)
        out = str(tmp_path / f"out-{safe}")
        args = ("--datasets", "Set5", "--scales", "2,4", "--data-root", str(root), "--out", out)
        result = _invoke("run", "--models", "bicubic", *args)
        assert result.exit_code == 0, result.output
        report = _invoke("report", "--out", out, "--format", "csv", "--per-image")
        per_image[safe] = pd.read_csv(io.StringIO(report.output))
    assert modes == [True, False]
    assert {"psnr", "ssim"} <= set(per_image[True].columns) and len(per_image[True]) == 6
    pd.testing.assert_frame_equal(
        per_image[True].drop(columns="run_id", errors="ignore"),
        per_image[False].drop(columns="run_id", errors="ignore"),
    )
