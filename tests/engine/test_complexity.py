"""Parameters and FLOPs at a stated input size, against hand-computed counts."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from baselines.edsr import EDSRBaseline
from baselines.srcnn import SRCNN
from baselines.vdsr import VDSR
from srbench.engine import complexity
from srbench.engine.complexity import (
    complexity_cache_dir,
    count_flops,
    count_params,
    model_input_shape,
)
from srbench.errors import SrbenchError
from srbench.models.adapter import model_dtype
from srbench.models.bicubic import Bicubic
from srbench.registry import models
from srbench.weights import select_weights


def test_one_convolution_is_counted_by_hand() -> None:
    conv = nn.Conv2d(2, 5, 3, padding=1)
    result = count_flops(conv, (1, 2, 10, 8))
    assert result.macs == 5 * 2 * 9 * 10 * 8
    assert result.flops == 2 * result.macs and "2 × MACs" in result.flops_convention
    assert result.params == 5 * 2 * 9 + 5 and result.input_shape == (1, 2, 10, 8)
    assert torch.__version__ in result.counter


def test_srcnn_macs_per_pixel_are_the_paper_formula() -> None:
    model = SRCNN(scale=3)
    shape = model_input_shape(model, (20, 30), 3)
    assert shape == (1, 1, 60, 90)  # pre-upsampled Y
    per_pixel = 9 * 9 * 64 + 5 * 5 * 64 * 32 + 5 * 5 * 32  # = 57,184 (weights only)
    assert count_flops(model, shape).macs == per_pixel * 60 * 90


def test_rgb_models_see_the_lr_size() -> None:
    model = EDSRBaseline(scale=4)
    assert model_input_shape(model, (20, 30), 4, batch=2) == (2, 3, 20, 30)
    assert count_params(model) == 1_517_571


def test_counting_does_not_touch_the_model() -> None:
    model = VDSR(scale=2)
    before = model.input.weight.clone()
    count_flops(model, (1, 1, 32, 32))
    assert model.input.weight.device.type == "cpu" and torch.equal(model.input.weight, before)


def _refuse_to_count(*args: object) -> int:
    raise AssertionError("counted again instead of reading the cache")


def test_counts_are_cached_by_fingerprint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    first = count_flops(VDSR(scale=2), (1, 1, 24, 24))
    assert len(list(complexity_cache_dir().glob("*.json"))) == 1
    monkeypatch.setattr(complexity, "_count", _refuse_to_count)
    assert count_flops(VDSR(scale=2), (1, 1, 24, 24)) == first
    with pytest.raises(AssertionError, match="counted again"):
        count_flops(VDSR(scale=3), (1, 1, 24, 24))  # a plain attribute differs
    with pytest.raises(AssertionError, match="counted again"):
        count_flops(VDSR(scale=2), (1, 1, 24, 32))  # another input shape is another entry
    with pytest.raises(AssertionError, match="counted again"):
        count_flops(nn.Conv2d(1, 4, 3), (1, 1, 24, 24))  # another structure too


def test_a_corrupt_or_unwritable_cache_is_counted_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    conv = nn.Conv2d(2, 5, 3, padding=1)
    expected = count_flops(conv, (1, 2, 10, 8)).macs
    (entry,) = complexity_cache_dir().glob("*.json")
    entry.write_text("{not json")
    assert count_flops(conv, (1, 2, 10, 8)).macs == expected
    assert json.loads(entry.read_text()) == {"flops": 2 * expected}  # rewritten
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("SRBENCH_HOME", str(blocked))  # the cache folder cannot be made
    assert count_flops(conv, (1, 2, 10, 8)).macs == expected


def _torch_count(module: nn.Module, shape: tuple[int, ...]) -> int:
    """The reference: torch's own FlopCounterMode on a meta copy."""
    from torch.utils.flop_counter import FlopCounterMode

    meta = copy.deepcopy(module).to("meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        meta(torch.empty(shape, dtype=model_dtype(module), device="meta"))
    return int(counter.get_total_flops())


class _Calls(nn.Module):
    """Runs `fn` on its input: a stand-in model made of one kind of call."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def _meta(*shape: int) -> torch.Tensor:
    return torch.empty(shape, dtype=torch.float64, device="meta")  # a parameter-free model's


_COVERED = {  # each call kind the function-level counter handles without torch's counter
    "grouped strided conv": (nn.Conv2d(4, 6, 3, stride=2, groups=2), (2, 4, 11, 9)),
    "transposed conv": (nn.ConvTranspose2d(4, 6, 4, stride=2, groups=2), (2, 4, 7, 5)),
    "conv1d": (nn.Conv1d(3, 5, 3), (2, 3, 17)),
    "conv3d": (nn.Conv3d(2, 3, 3, padding=1), (1, 2, 5, 6, 7)),
    "unbatched conv": (nn.Conv2d(3, 4, 3), (3, 9, 8)),
    "linear on 3-D": (nn.Linear(7, 5), (2, 3, 7)),
    "broadcast matmul": (_Calls(lambda x: x @ _meta(4, 1, 6, 3)), (2, 5, 6)),
    "method mm": (_Calls(lambda x: x.mm(_meta(6, 2))), (5, 6)),
    "bmm into out": (_Calls(lambda x: torch.bmm(x, _meta(3, 6, 2), out=_meta(3, 4, 2))), (3, 4, 6)),
    "addmm": (_Calls(lambda x: torch.addmm(_meta(5), x, _meta(6, 5), beta=0.5)), (4, 6)),
    "baddbmm": (
        _Calls(lambda x: torch.baddbmm(_meta(3, 4, 2), x, batch2=_meta(3, 6, 2))),
        (3, 4, 6),
    ),
}


@pytest.mark.parametrize("kind", sorted(_COVERED))
def test_covered_calls_count_as_torch_does_without_its_counter(
    kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import torch.utils.flop_counter

    module, shape = _COVERED[kind]
    expected = _torch_count(module, shape)
    assert expected > 0
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.utils.flop_counter, "FlopCounterMode", _refuse_to_count)
    assert count_flops(module, shape).flops == expected


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: torch.einsum("bij,jk->bik", x, _meta(6, 2)),
        lambda x: x @ _meta(6),  # a vector operand: torch counts it by another rule
        lambda x: torch.ops.aten.bmm(x, _meta(3, 6, 2)),
    ],
    ids=["einsum", "matrix-vector", "aten op"],
)
def test_other_products_are_counted_by_torchs_counter(
    fn: Callable[[torch.Tensor], torch.Tensor], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    module = _Calls(fn)
    assert count_flops(module, (3, 4, 6)).flops == _torch_count(module, (3, 4, 6))


def _registered(name: str, scale: int) -> nn.Module:
    cls = models.get(name)
    try:
        entry = select_weights(name, cls, scale, None)
    except SrbenchError:  # no checkpoint for this scale: the default architecture
        entry = None
    return cls(scale=scale, **(entry.options if entry is not None else {}))


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", sorted(models.names()))
def test_every_registered_model_counts_as_torchs_counter_does(
    name: str, scale: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path))
    module = _registered(name, scale)
    shape = model_input_shape(module, (12, 17), scale)
    assert count_flops(module, shape).flops == _torch_count(module, shape)


def test_bicubic_is_counted_without_torchs_meta_kernels(tmp_path: Path) -> None:
    """A native model runs for real on CPU: the same count, without the sympy import that
    torch's meta kernels of gather and bmm cost."""
    code = (
        "import sys\n"
        "from srbench.engine.complexity import count_flops\n"
        "from srbench.models.bicubic import Bicubic\n"
        "print(count_flops(Bicubic(scale=3), (1, 3, 24, 30)).flops, 'sympy' in sys.modules)\n"
    )
    env = {**os.environ, "SRBENCH_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(_torch_count(Bicubic(scale=3), (1, 3, 24, 30))), "False"]
