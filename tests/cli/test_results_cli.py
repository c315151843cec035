"""`srbench results list|show|diff|export` over a store with two runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from srbench.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:Set5 has .* images, expected 5")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("data")
    (root / "Set5").mkdir()
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (30, 28, 3), dtype=np.uint8)).save(root / "Set5/a.png")
    out = tmp_path_factory.mktemp("out")
    for force in ([], ["--force"]):
        result = CliRunner().invoke(
            main,
            [
                "-q",
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
                str(out),
                *force,
            ],
        )
        assert result.exit_code == 0, result.output
    listing = CliRunner().invoke(main, ["results", "list", "--out", str(out)]).output
    ids = [line.split()[0] for line in listing.splitlines()[2:]]
    return out, ids


def test_list_shows_both_runs_with_row_counts(two_runs: tuple[Path, list[str]]) -> None:
    out, ids = two_runs
    assert len(ids) == 2
    listing = CliRunner().invoke(main, ["results", "list", "--out", str(out)]).output
    assert listing.count(" done ") == 2


def test_show_prints_provenance_and_means(two_runs: tuple[Path, list[str]]) -> None:
    out, ids = two_runs
    text = CliRunner().invoke(main, ["results", "show", ids[1][:12], "--out", str(out)]).output
    for field in ("git_commit", "torch", "device_name", "num_threads", "bicubic", "paper@1"):
        assert field in text


def test_diff_of_identical_recomputation_is_zero(two_runs: tuple[Path, list[str]]) -> None:
    out, ids = two_runs
    result = CliRunner().invoke(main, ["results", "diff", ids[0], ids[1], "--out", str(out)])
    assert result.exit_code == 0
    deltas = [float(line.split()[-1]) for line in result.output.splitlines()[2:]]
    assert deltas == [0.0, 0.0]


def test_unknown_run_id_is_a_usage_error(two_runs: tuple[Path, list[str]]) -> None:
    out, _ = two_runs
    result = CliRunner().invoke(main, ["results", "show", "zzz", "--out", str(out)])
    assert result.exit_code == 2 and "no run matching 'zzz'" in result.output


def test_export_csv_has_every_row_with_provenance(
    two_runs: tuple[Path, list[str]], tmp_path: Path
) -> None:
    out, _ = two_runs
    target = tmp_path / "rows.csv"
    result = CliRunner().invoke(
        main, ["results", "export", "--out", str(out), "--output", str(target)]
    )
    assert result.exit_code == 0
    rows = pd.read_csv(target)
    assert len(rows) == 4 and {"git_commit", "protocol", "image_sha256", "value"} <= set(rows)
