"""SPNet: the official architecture and its released weights, branches, colour options."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from srbench.errors import WeightsError
from srbench.methods.spnet import SPNet, SPNetOfficial, SPNetOfficialWeights
from srbench.models import build_model
from srbench.models.adapter import upscale
from srbench.weights import install


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_official_architecture_has_the_released_99610_parameters() -> None:
    assert _params(SPNetOfficial(scale=4)) == 99_610
    assert SPNetOfficialWeights.GENERAL100_X4.meta.num_params == 99_610


@pytest.mark.parametrize(("scale", "params"), [(2, 88_139), (3, 96_203), (4, 105_035)])
def test_spnet_parameter_counts(scale: int, params: int) -> None:
    assert _params(SPNet(scale=scale)) == params  # official trunk + 5,425 for branch B at x4


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_deconvolution_gives_exactly_scale_times_the_size(scale: int) -> None:
    model = SPNet(scale=scale)
    assert model.conv9.kernel_size == (scale + 8, scale + 8) and model.conv9.padding == (4, 4)
    out = model.train_outputs(torch.rand(2, 1, 7, 9))
    for key in ("sr", "image", "boundary", "residual"):
        assert out[key].shape == (2, 1, 7 * scale, 9 * scale), key


def test_untrained_residual_branch_adds_nothing() -> None:
    out = SPNet(scale=2).train_outputs(torch.rand(1, 1, 5, 5))
    assert (out["residual"] == 0).all()
    torch.testing.assert_close(out["sr"], out["image"])


def test_boundary_is_channel_0_and_image_channel_1_like_the_release() -> None:
    model = SPNetOfficial(scale=4)
    lr = torch.rand(1, 1, 5, 5)
    with torch.no_grad():
        raw = model.conv10(model._features(lr))
        out = model.train_outputs(lr)
    torch.testing.assert_close(out["boundary"], raw[:, :1])
    torch.testing.assert_close(out["sr"], raw[:, 1:])
    assert "residual" not in out


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_plugin_contract_through_the_adapter(scale: int) -> None:
    lr = torch.randint(0, 256, (1, 3, 13, 11), dtype=torch.uint8)
    for color in ("y", "rgb"):
        model = SPNet(scale=scale, color=color).eval()
        for img in (lr, lr[:, :1]):
            out = upscale(model, img, scale)
            assert out.shape == (1, img.shape[1], 13 * scale, 11 * scale)
            assert torch.isfinite(out).all()


def test_untrained_spnet_is_skipped_not_scored() -> None:
    with pytest.raises(WeightsError, match="no known checkpoint"):
        build_model("spnet", scale=4)


def test_rgb_option() -> None:
    model = SPNet(scale=2, color="rgb")
    assert model.io.color == "rgb" and model.conv10.out_channels == 4
    lr = torch.randint(0, 256, (1, 3, 6, 6), dtype=torch.uint8)
    assert upscale(model, lr, 2).shape == (1, 3, 12, 12)
    with pytest.raises(ValueError, match="color"):
        SPNet(scale=2, color="lab")  # type: ignore[arg-type]


def test_released_checkpoints_import_without_running_pickled_code(
    weights_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    for member in SPNetOfficialWeights:
        source = weights_root / "spnet" / member.meta.filename
        derived = source.with_name(source.stem + ".state_dict.pt")
        if not source.is_file() or not derived.is_file():
            pytest.skip(f"{source} or {derived.name} is missing")
        install("spnet-official", member.meta, source)
        built = build_model("spnet-official", scale=4, weights=member.meta.tag)
        reference = torch.load(derived, map_location="cpu", weights_only=True)
        state = built.module.state_dict()
        assert set(state) == set(reference)
        for key, value in reference.items():
            torch.testing.assert_close(state[key], value, rtol=0, atol=0)
        assert built.weights_sha256 == member.meta.sha256
