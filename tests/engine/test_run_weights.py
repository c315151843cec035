"""The runner with checkpoints: missing or bad weights skip a model with the reason and the
fix, every other result is kept; `weights` choices and tiling reach the models."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from srbench import ModelIO, register_model
from srbench.engine.run import RunConfig, run
from srbench.errors import ConfigError, UnknownNameError
from srbench.store.sqlite import Store
from srbench.weights import Weights, WeightsEnum, install

pytestmark = pytest.mark.filterwarnings("ignore:Set5 has .* images, expected 5")


@register_model("test-run-weights")
class Doubler(nn.Module):
    """Nearest-neighbour x2 through a 1×1 conv whose weight comes from a checkpoint."""

    io = ModelIO(value_range=255.0)
    scales = (2,)
    weights: type[WeightsEnum] | None = None  # declared per test
    tiles_seen: ClassVar[list[tuple[int, int]]] = []

    def __init__(self, *, scale: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Upsample by 2 (nearest), then the 1×1 conv."""
        if not x.is_meta:  # the runner's cost count runs the model on the meta device
            Doubler.tiles_seen.append((x.shape[-2], x.shape[-1]))
        return self.conv(nn.functional.interpolate(x, scale_factor=2))


def _identity_checkpoint(path: Path, gain: float = 1.0) -> Weights:
    conv = torch.eye(3).view(3, 3, 1, 1) * gain
    torch.save({"conv.weight": conv}, path)
    return Weights(
        tag=path.stem,
        scale=2,
        urls=(f"https://example.org/{path.name}",),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        format="state_dict",
        num_params=9,
        origin="a test",
        license="MIT",
    )


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Weights, Weights]:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    folder = tmp_path / "data" / "Set5"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for image_id in ("a", "b"):
        pixels = rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{image_id}.png")
    plain = _identity_checkpoint(tmp_path / "plain.pt")
    dark = _identity_checkpoint(tmp_path / "dark.pt", gain=0.5)
    enum = WeightsEnum("DoublerWeights", [("PLAIN_X2", plain), ("DARK_X2", dark)])  # type: ignore[misc]
    monkeypatch.setattr(Doubler, "weights", enum)
    Doubler.tiles_seen = []
    return tmp_path, plain, dark


def _config(root: Path, **kw: object) -> RunConfig:
    return RunConfig(
        models=("test-run-weights", "bicubic"),
        datasets=("set5",),
        scales=(2,),
        out=root / "out",
        data_root=root / "data",
        **kw,  # type: ignore[arg-type]
    )


def test_missing_weights_skip_the_model_with_the_fix(setup: tuple[Path, Weights, Weights]) -> None:
    root, _, _ = setup
    summary = run(_config(root))
    assert summary.ok and summary.computed == 2  # bicubic on both images
    assert len(summary.skipped) == 1
    reason = summary.skipped[0]
    assert reason.startswith("test-run-weights x2: weights test-run-weights.plain for x2")
    assert "srbench weights fetch test-run-weights.plain --scales 2" in reason
    rows = Store(root / "out").results()
    mine = rows[rows["model"] == "test-run-weights"]
    assert (
        set(mine["status"]) == {"skipped"} and mine["error"].str.contains("not in the cache").all()
    )
    assert set(rows[rows["model"] == "bicubic"]["status"]) == {"ok"}


def test_a_corrupt_checkpoint_skips_only_that_model(setup: tuple[Path, Weights, Weights]) -> None:
    root, plain, _ = setup
    dest = install("test-run-weights", plain, root / "plain.pt")
    dest.write_bytes(dest.read_bytes()[:-3])
    summary = run(_config(root))
    assert summary.computed == 2 and "has SHA-256" in summary.skipped[0]


def test_weights_are_recorded_and_a_choice_reaches_the_model(
    setup: tuple[Path, Weights, Weights],
) -> None:
    root, plain, dark = setup
    install("test-run-weights", plain, root / "plain.pt")
    install("test-run-weights", dark, root / "dark.pt")
    assert run(_config(root)).computed == 4
    chosen = run(_config(root, weights=("test-run-weights.dark",)))
    assert chosen.computed == 2 and chosen.reused == 2  # bicubic is reused, dark is new
    rows = Store(root / "out").results()
    mine = rows[(rows["model"] == "test-run-weights") & (rows["metric"] == "psnr")]
    by_tag = mine.groupby("weights_tag")["value"].mean()
    assert set(mine["weights_sha256"]) == {plain.sha256, dark.sha256}
    assert by_tag["plain"] > by_tag["dark"] + 3  # half brightness scores far lower


def test_bad_weights_choices_fail_before_any_work(setup: tuple[Path, Weights, Weights]) -> None:
    root, _, _ = setup
    with pytest.raises(UnknownNameError, match=r"test-run-weights\.plain"):
        run(_config(root, weights=("test-run-weights.plian",)))
    with pytest.raises(ConfigError, match=r"--weights names 'srcnn', which is not in --models"):
        run(_config(root, weights=("srcnn.imagenet-955",)))
    assert not (root / "out").exists()


def test_tiling_reaches_the_model_and_changes_nothing(
    setup: tuple[Path, Weights, Weights],
) -> None:
    root, plain, _ = setup
    install("test-run-weights", plain, root / "plain.pt")
    run(_config(root))
    whole = Store(root / "out").results()
    Doubler.tiles_seen = []
    run(_config(root, tile=16, tile_overlap=2, force=True, timing="off"))
    assert Doubler.tiles_seen and max(max(t) for t in Doubler.tiles_seen) <= 16
    rows = Store(root / "out").results()
    latest = rows[rows["run_id"] == rows["run_id"].max()]
    merged = latest.merge(whole, on=["model", "image_id", "metric"], suffixes=("", "_whole"))
    assert len(merged) == 8 and (merged["value"] == merged["value_whole"]).all()
    with pytest.raises(ConfigError, match=r"--tile 8 with --tile-overlap 4"):
        run(_config(root, tile=8, tile_overlap=4))
