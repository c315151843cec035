"""LPIPS: the golden example pair from local weights, plumbing, and the offline path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from srbench.data.io import read_image
from srbench.errors import WeightsError
from srbench.metrics import lpips as lpips_module
from srbench.metrics.lpips import import_backbone, lpips


@pytest.fixture(autouse=True)
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty SRBENCH_HOME per test, and no network cached across tests."""
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    lpips_module._network.cache_clear()
    yield tmp_path / "home"
    lpips_module._network.cache_clear()


@pytest.fixture
def random_backbone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A seeded random AlexNet backbone, so plumbing tests need no downloaded weights."""
    from torchvision.models import alexnet

    torch.manual_seed(0)
    features = {f"features.{k}": v for k, v in alexnet().features.state_dict().items()}
    monkeypatch.setattr(lpips_module, "_load_backbone", lambda: features)


def _pm1(path: Path) -> torch.Tensor:
    return read_image(path)[None].double() / 127.5 - 1.0


def test_golden_pair_through_the_weights_cache(weights_root: Path, data_root: Path) -> None:
    examples = data_root / "lpips-examples"
    import_backbone(weights_root / "lpips" / "alexnet_features.pt")
    ref = _pm1(examples / "ex_ref.png")
    assert lpips(_pm1(examples / "ex_p0.png"), ref).item() == pytest.approx(0.722, abs=1e-3)
    assert lpips(_pm1(examples / "ex_p1.png"), ref).item() == pytest.approx(0.138, abs=1e-3)


@pytest.mark.usefixtures("random_backbone")
def test_identical_images_score_zero_and_batches_are_per_image() -> None:
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(3, 3, 40, 44, generator=gen, dtype=torch.float64) * 2 - 1
    b = (a + 0.3 * torch.randn(a.shape, generator=gen, dtype=torch.float64)).clamp(-1, 1)
    assert torch.equal(lpips(a, a), torch.zeros(3, dtype=torch.float64))
    batch = lpips(b, a)
    single = torch.cat([lpips(b[i : i + 1], a[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, single, rtol=1e-5, atol=1e-6)
    assert batch.shape == (3,) and (batch > 0).all()


def test_missing_backbone_says_how_to_get_it(fresh_home: Path) -> None:
    x = torch.zeros(1, 3, 32, 32, dtype=torch.float64)
    with pytest.raises(WeightsError, match="LPIPS needs its AlexNet backbone") as info:
        lpips(x, x)
    assert "srbench weights import FILE" in info.value.hint
    assert str(fresh_home) in str(info.value)


def test_import_refuses_another_file(tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    torch.save({"features.0.weight": torch.zeros(1)}, other)
    with pytest.raises(WeightsError, match=r"is neither alexnet_features\.pt"):
        import_backbone(other)


def test_weights_import_puts_the_backbone_where_lpips_reads_it(weights_root: Path) -> None:
    from click.testing import CliRunner

    from srbench.cli import main

    result = CliRunner().invoke(
        main, ["weights", "import", str(weights_root / "lpips" / "alexnet_features.pt")]
    )
    assert result.exit_code == 0, result.output
    assert lpips_module.backbone_path().is_file()
    x = torch.zeros(1, 3, 32, 32, dtype=torch.float64)
    assert lpips(x, x).item() == 0.0
