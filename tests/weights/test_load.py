"""Loading checkpoints: state dicts only via weights_only, fit checks, the .mat importer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from torch import nn

from baselines.edsr import EDSRBaseline
from baselines.srcnn import SRCNN
from baselines.vdsr import VDSR
from srbench.errors import WeightsError
from srbench.weights import load_into, load_state_dict_file
from srbench.weights.load import convert, read_srcnn_mat, sniff_format


class Whole(nn.Module):
    """A model saved as a whole pickled object (what old checkpoints did)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)


def test_a_state_dict_loads(tmp_path: Path) -> None:
    state = SRCNN(scale=2).state_dict()
    torch.save(state, tmp_path / "s.pt")
    loaded = load_state_dict_file(tmp_path / "s.pt")
    assert loaded.keys() == state.keys()


def test_a_pickled_model_where_a_state_dict_is_expected(tmp_path: Path) -> None:
    torch.save({"epoch": 1, "model": Whole()}, tmp_path / "whole.pth")
    with pytest.raises(WeightsError) as info:
        load_state_dict_file(tmp_path / "whole.pth")
    text = str(info.value)
    assert "is not a plain state dict (it pickles test_load.Whole)" in text
    assert "srbench weights import FILE" in text


def test_a_truncated_state_dict(tmp_path: Path) -> None:
    torch.save(SRCNN(scale=2).state_dict(), tmp_path / "s.pt")
    data = (tmp_path / "s.pt").read_bytes()
    (tmp_path / "s.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(WeightsError, match=r"cannot read .*s\.pt.*\n  hint: the file is truncated"):
        load_state_dict_file(tmp_path / "s.pt")


def test_a_file_without_tensors(tmp_path: Path) -> None:
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "meta.pt")
    with pytest.raises(WeightsError, match=r"holds a dict of float, int, not a \{name: tensor\}"):
        load_state_dict_file(tmp_path / "meta.pt")


def test_a_state_dict_for_another_scale_names_the_mismatches() -> None:
    with pytest.raises(WeightsError) as info:
        load_into(EDSRBaseline(scale=2), EDSRBaseline(scale=3).state_dict(), what="edsr x2")
    text = str(info.value)
    assert "edsr x2: the checkpoint does not fit the model" in text
    assert "shape mismatches: tail.0.0.weight (576, 64, 3, 3) (model (256, 64, 3, 3))" in text
    assert "another scale or architecture" in text
    with pytest.raises(
        WeightsError, match=r"unexpected keys: tail\.0\.2\.weight, tail\.0\.2\.bias"
    ):
        load_into(EDSRBaseline(scale=2), EDSRBaseline(scale=4).state_dict(), what="edsr x2")


def test_a_state_dict_for_another_architecture_names_the_keys() -> None:
    with pytest.raises(WeightsError) as info:
        load_into(SRCNN(scale=2), VDSR(scale=2).state_dict(), what="srcnn x2")
    text = str(info.value)
    assert "missing keys: conv1.weight, conv1.bias, conv2.weight" in text
    assert "unexpected keys: input.weight, residual_layer.0.conv.weight" in text
    assert "... and 14 more" in text  # 20 VDSR keys, 6 listed


def test_a_fitting_state_dict_is_loaded() -> None:
    source, target = VDSR(scale=2), VDSR(scale=3)
    load_into(target, source.state_dict(), what="vdsr")
    assert all(
        torch.equal(a, b) for a, b in zip(source.parameters(), target.parameters(), strict=True)
    )


def _matlab_layout(model: SRCNN) -> dict[str, np.ndarray]:
    """The SRCNN release's arrays, built element by element from the README's formulas."""
    w1 = model.conv1.weight.detach().double().numpy()  # (64, 1, k1, k1)
    w2 = model.conv2.weight.detach().double().numpy()  # (32, 64, k2, k2)
    w3 = model.conv3.weight.detach().double().numpy()  # (1, 32, k3, k3)
    k1, k2 = w1.shape[-1], w2.shape[-1]
    # conv.weight[o, i] = weights[..., o].reshape(k, k).T, i.e. column-major filters.
    m1 = np.stack([w1[o, 0].T.reshape(-1) for o in range(64)], axis=1)
    m2 = np.stack(
        [np.stack([w2[o, i].T.reshape(-1) for o in range(32)], axis=1) for i in range(64)]
    )
    m3 = np.stack([w3[0, i].T.reshape(-1) for i in range(32)])
    assert m1.shape == (k1 * k1, 64) and m2.shape == (64, k2 * k2, 32) and m3.shape == (32, 25)
    biases = {
        f"biases_conv{i}": getattr(model, f"conv{i}").bias.detach().double().numpy()[:, None]
        for i in (1, 2, 3)
    }
    return {"weights_conv1": m1, "weights_conv2": m2, "weights_conv3": m3, **biases}


@pytest.mark.parametrize("kernels", [(9, 5, 5), (9, 1, 5), (9, 3, 5)])
def test_srcnn_mat_layout_round_trip(tmp_path: Path, kernels: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    model = SRCNN(scale=3, kernel_sizes=kernels)
    scipy.io.savemat(tmp_path / "x3.mat", _matlab_layout(model))
    assert sniff_format(tmp_path / "x3.mat") == "srcnn_mat"
    state = convert(tmp_path / "x3.mat", "srcnn_mat")
    for key, value in model.state_dict().items():
        assert torch.equal(state[key], value), key


def test_a_mat_file_that_is_not_srcnn(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "other.mat", {"weights": np.zeros(3)})
    with pytest.raises(WeightsError, match=r"cannot read .*other\.mat as SRCNN \.mat weights"):
        read_srcnn_mat(tmp_path / "other.mat")


def test_release_mat_files_match_the_reference_conversion(weights_root: Path) -> None:
    mats = sorted(weights_root.glob("srcnn/*/x*.mat"))
    assert len(mats) == 8
    for mat in mats:
        state = read_srcnn_mat(mat)
        reference = torch.load(mat.with_suffix(".state_dict.pt"), weights_only=True)
        assert state.keys() == reference.keys(), mat
        for key, value in reference.items():
            assert torch.equal(state[key], value) and state[key].dtype == value.dtype, (mat, key)
