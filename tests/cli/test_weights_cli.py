"""`srbench weights list|fetch|verify|import` on a private SRBENCH_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result
from torch import nn

from srbench.cli import main
from srbench.errors import WeightsError
from srbench.weights import Weights


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


class Net(nn.Module):
    """A whole pickled model of a class srbench does not know."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)


def test_list_shows_defaults_formats_and_published_numbers() -> None:
    result = _invoke("weights", "list", "srcnn", "--scales", "3")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    default = next(line for line in lines if line.startswith("srcnn.imagenet-955"))
    assert default.split()[1:4] == ["3", "*", "srcnn_mat"]
    assert "Set5 psnr 32.75, Set14 psnr 29.3 [srcnn-matlab@1]" in default
    assert any(line.startswith("srcnn.imagenet-915") for line in lines)
    assert not any(line.startswith("srcnn.imagenet-955") and " 2 " in line for line in lines)


def test_list_of_an_unknown_model_suggests_names() -> None:
    result = _invoke("weights", "list", "srcn")
    assert result.exit_code == 2 and "no model named 'srcn'. Did you mean 'srcnn'" in result.output
    result = _invoke("weights", "list", "srcnn.imagenet")
    assert result.exit_code == 2 and "no weights named 'srcnn.imagenet'" in result.output


def test_import_verify_and_a_corrupt_cache(weights_root: Path, home: Path) -> None:
    mat = weights_root / "srcnn" / "9-5-5_ImageNet" / "x3.mat"
    result = _invoke("weights", "import", str(mat))
    cached = home / "weights" / "srcnn" / "imagenet-955" / "x3.state_dict.pt"
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"srcnn.imagenet-955 x3: {cached}"
    listing = _invoke("weights", "list", "srcnn.imagenet-955").output
    assert [line.split()[5] for line in listing.splitlines()[2:]] == ["no", "yes", "no"]
    assert "srcnn.imagenet-955 x3: ok" in _invoke("weights", "verify", "srcnn").output

    cached.write_bytes(cached.read_bytes()[:-1])
    result = _invoke("weights", "verify", "srcnn")
    assert result.exit_code == 1
    assert "srcnn.imagenet-955 x3: BAD:" in result.output
    assert "srcnn.imagenet-955 x2: missing" in result.output


def test_one_pickled_file_serves_every_scale_it_is_declared_for(
    weights_root: Path, home: Path
) -> None:
    result = _invoke("weights", "import", str(weights_root / "vdsr" / "model_epoch_50.pth"))
    assert result.exit_code == 0, result.output
    cached = home / "weights" / "vdsr" / "twtygqyy" / "model_epoch_50.state_dict.pt"
    assert result.output.splitlines() == [f"vdsr.twtygqyy x{s}: {cached}" for s in (2, 3, 4)]
    reference = torch.load(weights_root / "vdsr" / "model_epoch_50.state_dict.pt")
    converted = torch.load(cached, weights_only=True)
    assert all(torch.equal(converted[k], v) for k, v in reference.items())


def test_an_unknown_file_is_refused_unless_written_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "net.pth"
    torch.save(Net(), path)
    result = _invoke("weights", "import", str(path))
    assert result.exit_code == 1
    assert "is not a checkpoint any registered model declares" in result.output
    assert "pass --out FILE" in result.output

    out = tmp_path / "net.state_dict.pt"
    refused = _invoke("weights", "import", str(path), "--out", str(out))
    assert refused.exit_code == 1 and "--allow-class test_weights_cli.Net" in refused.output
    result = _invoke(
        "weights", "import", str(path), "--out", str(out), "--allow-class", "test_weights_cli.Net"
    )
    assert result.exit_code == 0, result.output
    assert set(torch.load(out, weights_only=True)) == {"conv.weight", "conv.bias"}


def test_fetch_installs_what_it_downloads_and_reports_failures(
    weights_root: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from srbench.weights import cache

    def fake_download(weights: Weights, folder: Path) -> Path:
        if weights.scale == 4:
            raise WeightsError("could not download x4.mat: offline")
        return weights_root / "srcnn" / "9-5-5_ImageNet" / weights.filename

    monkeypatch.setattr(cache, "download", fake_download)
    result = _invoke("weights", "fetch", "srcnn.imagenet-955")
    assert result.exit_code == 1
    assert "srcnn.imagenet-955 x2: " in result.output
    assert "srcnn.imagenet-955 x4: could not download x4.mat: offline" in result.output
    again = _invoke("weights", "fetch", "srcnn.imagenet-955", "--scales", "2,3")
    assert again.exit_code == 0  # cached files are verified, not downloaded again


def test_run_refuses_an_unknown_weights_choice() -> None:
    result = _invoke("run", "--models", "srcnn", "--weights", "srcnn.imagenet-9", "--scales", "3")
    assert result.exit_code == 2 and "'srcnn.imagenet-955'" in result.output
