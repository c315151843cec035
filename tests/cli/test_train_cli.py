"""`srbench train` and `srbench ablate` from the command line: happy paths and user errors."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from srbench.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:Set5 has .* images, expected 5")

TINY = ["--option", "preset=tiny", "--option", "n_blocks=1", "--option", "n_feats=4"]
FAST = ["--scale", "2", "--steps", "2", "--batch-size", "2", "--patch-size", "16"]


def _invoke(*args: str | Path) -> click.testing.Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _images(folder: Path, n: int, size: tuple[int, int] = (32, 28)) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(n)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_train_then_resume(tmp_path: Path) -> None:
    data = _images(tmp_path / "hr", 3)
    args = ["train", "--model", "drn-gs", *TINY, *FAST, "--data", data, "--out", tmp_path / "run"]
    first = _invoke(*args, "--loss", "gs+dual")
    assert first.exit_code == 0, first.output
    assert "drn-gs x2 trained to step 2, validation PSNR" in first.output
    assert (tmp_path / "run" / "checkpoint.pt").is_file()
    name = first.output.split("--models ")[1].split()[0]
    plugin = tmp_path / "run" / "model.py"
    assert f"evaluate it with: srbench --plugin {plugin} run --models {name}" in first.output
    listed = _invoke("--plugin", plugin, "list", "models")
    assert listed.exit_code == 0 and f"\n{name} " in listed.output
    again = _invoke(*args, "--loss", "gs+dual", "--resume")
    assert again.exit_code == 0 and "was already trained to step 2" in again.output
    other = _invoke(*args, "--loss", "l1", "--resume")
    assert other.exit_code == 2
    assert "loss: 'gs+dual' there, 'l1' now" in other.output


def test_bad_loss_spec_points_at_the_token(tmp_path: Path) -> None:
    data = _images(tmp_path / "hr", 2)
    result = _invoke(
        "train",
        "--model",
        "spnet",
        "--loss",
        "image+0.1*boundry",
        "--data",
        data,
        "--out",
        tmp_path / "run",
    )
    assert result.exit_code == 2
    assert "no loss named 'boundry'" in result.output
    assert "    image+0.1*boundry\n              ^^^^^^^" in result.output


def test_empty_training_folder_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "hr").mkdir()
    result = _invoke(
        "train", "--model", "spnet", "--data", tmp_path / "hr", "--out", tmp_path / "r"
    )
    assert result.exit_code == 1 and "holds no images" in result.output


def test_bad_model_option(tmp_path: Path) -> None:
    data = _images(tmp_path / "hr", 2)
    result = _invoke(
        "train", "--model", "drn-gs", "--option", "preset", "--data", data, "--out", tmp_path / "r"
    )
    assert result.exit_code == 2 and "--option: 'preset' is not key=value" in result.output
    result = _invoke(
        "train",
        "--model",
        "drn-gs",
        "--option",
        "n_feats=many",
        "--data",
        data,
        "--out",
        tmp_path / "r",
    )
    assert result.exit_code == 2 and "bad value 'many' for n_feats" in result.output


def test_list_losses() -> None:
    result = _invoke("list", "losses")
    assert result.exit_code == 0
    for name in ("l1", "mse", "gs", "dual", "image", "boundary", "residual"):
        assert f"\n{name} " in result.output


def test_ablate_from_a_toml_file_writes_the_report(tmp_path: Path) -> None:
    _images(tmp_path / "data" / "Set5", 2, size=(24, 20))
    data = _images(tmp_path / "hr", 3)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        'models = ["drn-gs"]\nreference = "baseline"\n'
        "scales = [2]\nsteps = 1\nbatch_size = 2\npatch_size = 16\nval_images = 0\n"
        '[variants.drn-gs]\nbaseline = "l1"\ntopk = "gs[mask=topk]+dual"\n'
        '[model_options.drn-gs]\npreset = "tiny"\nn_blocks = 1\nn_feats = 4\n'
    )
    report = tmp_path / "results" / "ablation.md"
    result = _invoke(
        "ablate",
        "--config",
        sweep,
        "--data",
        data,
        "--data-root",
        tmp_path / "data",
        "--datasets",
        "Set5",
        "--out",
        tmp_path / "work",
        "--report",
        report,
    )
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert text == (tmp_path / "work" / "ablation.md").read_text()
    assert "Command: `srbench " in text and "not the papers' results" in text
    assert "steps 1, seeds [0], scales [2]" in text and "## PSNR" in text and "## SSIM" in text
    assert "| topk " in text and "gs[mask=topk]+dual" in text and "baseline (ref)" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "0,x"], "--seeds: '0,x' is not a list of integers"),
        (["--seeds", "-1"], "must list integers >= 0"),
        (["--models", "bicubic"], "no loss variants for model 'bicubic'"),
        (["--losses", "l1,gs+dual", "--reference", "mse"], "--reference 'mse' is not a variant"),
    ],
)
def test_ablate_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = _invoke("ablate", *args, "--data", _images(tmp_path / "hr", 1), "--out", tmp_path)
    assert result.exit_code == 2 and message in result.output


def test_ablate_rejects_unknown_toml_keys(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('model = "drn-gs"\n')
    result = _invoke("ablate", "--config", sweep)
    assert result.exit_code == 2 and "unknown key(s) model" in result.output
    sweep.write_text('preset = "gpu"\n')
    result = _invoke("ablate", "--config", sweep)
    assert result.exit_code == 2 and "unknown preset 'gpu'" in result.output
