"""`srbench run` options: --batch, --dtype, --workers, and a network's path through the runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

from srbench import register_model
from srbench.cli import main
from srbench.engine.run import RunConfig, run
from srbench.errors import ConfigError
from srbench.store.sqlite import Store

pytestmark = pytest.mark.filterwarnings("ignore:Set5 has .* images, expected 5")


def _make_set(root: Path, sizes: dict[str, tuple[int, int]]) -> Path:
    folder = root / "Set5"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    for image_id, (h, w) in sizes.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
            folder / f"{image_id}.png"
        )
    return root


def _values(out: Path) -> dict[tuple[str, int, str], tuple[str, float]]:
    rows = Store(out).results()
    return {(r.image_id, r.scale, r.metric): (r.status, r.value) for r in rows.itertuples()}


@register_model("test-tiny-net")
class TinyNet(nn.Module):
    """A 3x3 conv and pixel shuffle: a network with parameters."""

    def __init__(self, *, scale: int) -> None:
        super().__init__()
        torch.manual_seed(scale)
        self.conv = nn.Conv2d(3, 3 * scale**2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x)) + 0.5


def _net_config(root: Path, out: Path, **kw: object) -> RunConfig:
    return RunConfig(
        models=("test-tiny-net",),
        datasets=("set5",),
        scales=(2,),
        out=out,
        data_root=root,
        timing="off",
        **kw,  # type: ignore[arg-type]
    )


def test_a_network_scores_the_same_batched_or_not(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {f"i{k}": (24, 30) for k in range(3)} | {"z": (20, 26)})
    stored = []
    for k, (workers, batch) in enumerate([(0, 1), (2, 1), (2, 3)]):
        assert run(_net_config(root, tmp_path / f"o{k}", workers=workers, batch=batch)).ok
        rows = Store(tmp_path / f"o{k}").results().sort_values(["image_id", "metric"])
        stored.append(rows["value"].to_numpy())
    np.testing.assert_allclose(stored[0], stored[1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(stored[0], stored[2], rtol=0, atol=1e-4)  # conv batch sums


def test_dtype_is_recorded_and_part_of_what_resume_matches(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {"a": (24, 30)})
    out = tmp_path / "out"
    assert run(_net_config(root, out, dtype="bfloat16")).computed == 1
    assert set(Store(out).results()["dtype"]) == {"bfloat16"}
    again = run(_net_config(root, out, dtype="bfloat16"))
    assert (again.computed, again.reused) == (0, 1)
    other = run(_net_config(root, out))  # the model's own float32 is another result
    assert (other.computed, other.reused) == (1, 0)
    assert set(Store(out).results()["dtype"]) == {"bfloat16", "float32"}


def test_an_unknown_dtype_or_batch_is_refused(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {"a": (24, 30)})
    with pytest.raises(ConfigError, match="--dtype: 'float8' is not supported"):
        run(_net_config(root, tmp_path / "out", dtype="float8"))
    with pytest.raises(ConfigError, match="--batch: 0 is not supported"):
        run(_net_config(root, tmp_path / "out", batch=0))


@pytest.mark.parametrize("value", ["-1", "x"])
def test_the_cli_refuses_bad_worker_counts(value: str) -> None:
    result = CliRunner().invoke(main, ["run", "--models", "bicubic", "--workers", value])
    assert result.exit_code == 2 and "--workers" in result.output


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_batches_score_like_the_cpu(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {f"i{k}": (24, 30) for k in range(3)})
    cpu = _values_of(_config_for(root, tmp_path / "cpu", device="cpu"), tmp_path / "cpu")
    gpu = _values_of(_config_for(root, tmp_path / "gpu", device="cuda", batch=3), tmp_path / "gpu")
    for key, (status, value) in cpu.items():
        assert gpu[key][0] == status and abs(gpu[key][1] - value) < 1e-6


def _config_for(root: Path, out: Path, **kw: object) -> RunConfig:
    return RunConfig(
        models=("bicubic",),
        datasets=("set5",),
        scales=(2, 3),
        out=out,
        data_root=root,
        timing="off",
        **kw,  # type: ignore[arg-type]
    )


def _values_of(config: RunConfig, out: Path) -> dict[tuple[str, int, str], tuple[str, float]]:
    assert run(config).ok
    return _values(out)
