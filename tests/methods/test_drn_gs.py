"""DRN-GS: the published DRN-S size, the multi-scale and dual outputs, DRN's dual checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from srbench.errors import ConfigError, WeightsError
from srbench.methods.drn_gs import DRNGS, stage_factors
from srbench.models import build_model
from srbench.models.adapter import upscale
from srbench.train.checkpoint import build_trainable
from srbench.weights import load_into


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_drn_s_x4_has_the_published_4_8m_parameters() -> None:
    model = DRNGS(scale=4, preset="s")
    assert _params(model) == pytest.approx(4.80e6, rel=0.005)
    assert _params(model.dual) == 2 * (16 * 3 * 9 + 3 * 16 * 9)  # two DownBlocks, no bias


def test_drn_l_x4_has_the_published_9_8m_parameters() -> None:
    assert _params(DRNGS(scale=4, preset="l")) == pytest.approx(9.8e6, rel=0.005)


def test_tiny_preset_is_small() -> None:
    assert _params(DRNGS(scale=4, preset="tiny")) < 200_000


def test_stage_factors() -> None:
    assert stage_factors(2) == [2]
    assert stage_factors(3) == [3]
    assert stage_factors(4) == [2, 2]
    with pytest.raises(ValueError, match="x5"):
        stage_factors(5)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_pyramid_and_dual_outputs(scale: int) -> None:
    torch.manual_seed(0)
    model = DRNGS(scale=scale, preset="tiny", n_blocks=1)
    lr = torch.rand(2, 3, 6, 5)
    out = model.train_outputs(lr)
    sizes = [tuple(p.shape[-2:]) for p in out["pyramid"]]
    factor = 1
    expected = [(6, 5)]
    for f in stage_factors(scale):
        factor *= f
        expected.append((6 * factor, 5 * factor))
    assert sizes == expected
    assert [tuple(d.shape[-2:]) for d in out["dual"]] == expected[:-1]
    # forward is the last pyramid level on the 0-255 scale
    with torch.no_grad():
        torch.testing.assert_close(model(lr * 255.0) / 255.0, out["sr"], rtol=1e-4, atol=1e-4)


def test_x3_is_one_stage_of_factor_3() -> None:
    model = DRNGS(scale=3, preset="tiny")
    assert len(model.down) == len(model.up_blocks) == len(model.dual) == 1
    assert model.down[0].dual_module[0][0].stride == (3, 3)
    assert any(isinstance(m, nn.PixelShuffle) and m.upscale_factor == 3 for m in model.modules())


def test_unknown_preset_and_option_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown DRN-GS preset 'xl'"):
        build_trainable("drn-gs", 4, {"preset": "xl"})
    with pytest.raises(ConfigError, match=r"has no option 'width'.*"):
        build_trainable("drn-gs", 4, {"width": "8"})
    model = build_trainable("drn-gs", 2, {"preset": "tiny", "n_feats": "4"})
    assert model.head.out_channels == 4


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_plugin_contract_through_the_adapter(scale: int) -> None:
    model = DRNGS(scale=scale, preset="tiny").eval()
    lr = torch.randint(0, 256, (1, 3, 13, 11), dtype=torch.uint8)
    for img in (lr, lr[:, :1]):
        out = upscale(model, img, scale)
        assert out.shape == (1, img.shape[1], 13 * scale, 11 * scale)
        assert torch.isfinite(out).all()


def test_untrained_drn_gs_is_skipped_not_scored() -> None:
    with pytest.raises(WeightsError, match="no known checkpoint") as info:
        build_model("drn-gs", scale=4)
    assert "srbench train --model drn-gs" in str(info.value.hint)


def test_drn_dual_checkpoint_loads_into_drn_s_dual_networks(weights_root: Path) -> None:
    path = weights_root / "drn" / "DRNS4x_dual_model.pt"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    states = torch.load(path, map_location="cpu", weights_only=True)
    assert isinstance(states, list) and len(states) == 2
    model = DRNGS(scale=4, preset="s")
    for i, (dual, state) in enumerate(zip(model.dual, states, strict=True)):
        assert {k: tuple(v.shape) for k, v in state.items()} == {
            "dual_module.0.0.weight": (16, 3, 3, 3),
            "dual_module.1.weight": (3, 16, 3, 3),
        }
        load_into(dual, state, what=f"DRN-S dual model {i}")
        torch.testing.assert_close(dual.dual_module[1].weight, state["dual_module.1.weight"])
