"""The restricted unpickler reads tensors of pickled checkpoints and never runs their code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

from srbench.errors import WeightsError
from srbench.weights import read_pickled_checkpoint

RAN: list[str] = []  # set by the canary below if any of its code ever runs


class Canary(nn.Module):
    """A model whose unpickling would record itself if its code ran."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.BatchNorm2d(4))
        self.head = nn.Linear(4, 2)
        self.register_buffer("scratch", torch.ones(3), persistent=False)

    def __setstate__(self, state: dict) -> None:
        RAN.append("__setstate__")
        super().__setstate__(state)


class Evil:
    """Pickles as a call to os.system."""

    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned",))


CANARY = f"{__name__}.Canary"


def _expected(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items()}


@pytest.mark.parametrize("zip_format", [True, False])
def test_whole_model_pickle_is_read_without_running_its_class(
    tmp_path: Path, zip_format: bool
) -> None:
    torch.manual_seed(0)
    model = Canary()
    path = tmp_path / "model.pth"
    torch.save({"epoch": 7, "model": model}, path, _use_new_zipfile_serialization=zip_format)
    state = read_pickled_checkpoint(path, allow_classes=[CANARY])
    expected = _expected(model)
    assert state.keys() == expected.keys() and "scratch" not in state
    for key, value in expected.items():
        assert torch.equal(state[key], value) and state[key].dtype == value.dtype, key
    assert RAN == []


def test_the_models_own_class_must_be_allowed(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save(Canary(), path)
    with pytest.raises(WeightsError, match=rf"(?s)pickles '{CANARY}'.*--allow-class {CANARY}"):
        read_pickled_checkpoint(path)


@pytest.mark.parametrize("zip_format", [True, False])
def test_a_pickle_that_calls_a_function_is_refused(tmp_path: Path, zip_format: bool) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"model": Evil()}, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(WeightsError, match=r"pickles '(posix|os|nt)\.system'"):
        read_pickled_checkpoint(path, allow_classes=[CANARY])


@pytest.mark.parametrize("zip_format", [True, False])
def test_views_of_one_storage_are_read_with_their_offsets(tmp_path: Path, zip_format: bool) -> None:
    base = torch.arange(24, dtype=torch.float64)
    state = {"a": base.view(4, 6), "b": base[5:11], "c": base.view(4, 6).t(), "d": base[3]}
    path = tmp_path / "views.pt"
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    read = read_pickled_checkpoint(path)
    for key, value in state.items():
        assert torch.equal(read[key], value), key


def test_a_truncated_legacy_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save({"model": Canary()}, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(WeightsError, match=r"truncated"):
        read_pickled_checkpoint(path, allow_classes=[CANARY])


def test_a_truncated_zip_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save({"model": Canary()}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"cannot read"):
        read_pickled_checkpoint(path, allow_classes=[CANARY])


def test_not_a_checkpoint_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(WeightsError, match=r"cannot read .*notes.txt"):
        read_pickled_checkpoint(path)


def test_a_file_with_several_models_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.pt"
    torch.save([nn.Linear(2, 2).state_dict(), nn.Linear(2, 2).state_dict()], path)
    with pytest.raises(WeightsError, match=r"holds list: srbench expects one model"):
        read_pickled_checkpoint(path)


REFERENCES = [
    ("vdsr/model_epoch_50.pth", 20),
    ("spnet/main_spnetmodel_epoch_1000.pth", 12),
    ("spnet/main_spnetmodel_pre_trained.pth", 12),
    ("spnet/main_cnn_baselinemodel_epoch_1000.pth", 16),
]


@pytest.mark.parametrize(("original", "n_keys"), REFERENCES)
def test_public_legacy_checkpoints_match_the_reference_conversion(
    weights_root: Path, original: str, n_keys: int
) -> None:
    """The shared *.state_dict.pt files were converted independently: tensors must be equal."""
    state = read_pickled_checkpoint(weights_root / original)
    reference_path = (weights_root / original).with_suffix(".state_dict.pt")
    reference = torch.load(reference_path, weights_only=True)
    assert len(state) == n_keys and state.keys() == reference.keys()
    for key, value in reference.items():
        assert torch.equal(state[key], value) and state[key].dtype == value.dtype, key
