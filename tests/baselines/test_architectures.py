"""The baselines are the papers' architectures: exact parameter counts, shapes, official keys."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest
import torch
from torch import nn

from baselines.edsr import EDSR, EDSRBaseline
from baselines.srcnn import SRCNN
from baselines.vdsr import VDSR
from srbench.models.adapter import upscale
from srbench.registry import models
from srbench.weights import load_into

# The originals' counts: SRCNN TPAMI 9-5-5 (57,281), the pytorch-vdsr model (664,704), and
# EDSR-PyTorch's models without the two fixed 1×1 mean-shift convolutions (24 constants).
PARAMS = [
    (SRCNN, 2, {}, 57_281),
    (SRCNN, 3, {"kernel_sizes": (9, 1, 5)}, 8_129),
    (SRCNN, 3, {"kernel_sizes": (9, 3, 5)}, 24_513),
    (VDSR, 2, {}, 664_704),
    (EDSRBaseline, 2, {}, 1_369_859),
    (EDSRBaseline, 3, {}, 1_554_499),
    (EDSRBaseline, 4, {}, 1_517_571),
    (EDSR, 2, {}, 40_729_603),
    (EDSR, 3, {}, 43_680_003),
    (EDSR, 4, {}, 43_089_923),
]


@pytest.mark.parametrize(("cls", "scale", "options", "expected"), PARAMS)
def test_parameter_counts_are_the_originals(
    cls: type[nn.Module], scale: int, options: dict[str, object], expected: int
) -> None:
    model = cls(scale=scale, **options)
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize(
    ("name", "cls"),
    [("srcnn", SRCNN), ("vdsr", VDSR), ("edsr-baseline", EDSRBaseline), ("edsr", EDSR)],
)
def test_registered_through_entry_points(name: str, cls: type[nn.Module]) -> None:
    points = {ep.name: ep.value for ep in entry_points(group="srbench.models")}
    assert points[name] == f"{cls.__module__}:{cls.__qualname__}"
    assert models.get(name) is cls


def test_importing_a_baseline_before_the_registry_reads_entry_points_is_no_clash() -> None:
    code = (
        "import baselines.srcnn\n"
        "from srbench.registry import models\n"
        "entry = next(e for e in models.entries() if e.name == 'srcnn')\n"
        "print(entry.origin, entry.target, entry.obj is baselines.srcnn.SRCNN)"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True).split()
    assert out[-3:] == ["point)", "baselines.srcnn:SRCNN", "True"]


@pytest.mark.parametrize("cls", [SRCNN, VDSR, EDSRBaseline])
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_odd_sized_inputs_give_scale_times_the_size(
    cls: type[nn.Module], scale: int, channels: int
) -> None:
    torch.manual_seed(0)
    lr = torch.randint(0, 256, (1, channels, 13, 11), dtype=torch.uint8)
    sr = upscale(cls(scale=scale).eval(), lr, scale)
    assert sr.shape == (1, channels, 13 * scale, 11 * scale)
    assert torch.isfinite(sr).all()


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_edsr_full_output_shape(scale: int) -> None:
    with torch.inference_mode():
        out = EDSR(scale=scale).eval()(torch.rand(1, 3, 7, 5) * 255)
    assert out.shape == (1, 3, 7 * scale, 5 * scale)


def test_vdsr_adds_the_input_back() -> None:
    model = VDSR(scale=2).eval()
    nn.init.zeros_(model.output.weight)
    x = torch.rand(1, 1, 9, 7)
    with torch.inference_mode():
        assert torch.equal(model(x), x)
    assert all(m.bias is None for m in model.modules() if isinstance(m, nn.Conv2d))


def test_srcnn_padding_option_changes_only_the_border() -> None:
    torch.manual_seed(0)
    zeros = SRCNN(scale=2).eval()
    replicate = SRCNN(scale=2, padding="replicate").eval()
    replicate.load_state_dict(zeros.state_dict())
    x = torch.rand(1, 1, 40, 40)
    with torch.inference_mode():
        a, b = zeros(x), replicate(x)
    border = 4 + 2 + 2  # half-widths of the 9, 5 and 5 kernels
    inner = (..., slice(border, -border), slice(border, -border))
    torch.testing.assert_close(a[inner], b[inner])
    assert not torch.allclose(a, b)


def test_edsr_mean_shift_is_the_div2k_mean_on_0_255() -> None:
    model = EDSRBaseline(scale=2).eval()
    x = torch.zeros(1, 3, 1, 1)
    with torch.inference_mode():
        shifted = model.sub_mean(x).flatten()
    expected = -255 * torch.tensor([0.4488, 0.4371, 0.4040])
    torch.testing.assert_close(shifted, expected)


def _official_edsr_keys(n_resblocks: int, n_feats: int, scale: int) -> dict[str, tuple]:
    """Key names and shapes of an EDSR-PyTorch `edsr.py` state dict, written out by hand."""
    conv = (n_feats, n_feats, 3, 3)
    keys: dict[str, tuple] = {
        "sub_mean.weight": (3, 3, 1, 1),
        "sub_mean.bias": (3,),
        "head.0.weight": (n_feats, 3, 3, 3),
        "head.0.bias": (n_feats,),
    }
    for i in range(n_resblocks):
        for j in (0, 2):
            keys[f"body.{i}.body.{j}.weight"] = conv
            keys[f"body.{i}.body.{j}.bias"] = (n_feats,)
    keys[f"body.{n_resblocks}.weight"] = conv
    keys[f"body.{n_resblocks}.bias"] = (n_feats,)
    steps = [(9, 0)] if scale == 3 else [(4, 2 * k) for k in range(scale.bit_length() - 1)]
    for mult, index in steps:
        keys[f"tail.0.{index}.weight"] = (mult * n_feats, n_feats, 3, 3)
        keys[f"tail.0.{index}.bias"] = (mult * n_feats,)
    keys["tail.1.weight"] = (3, n_feats, 3, 3)
    keys["tail.1.bias"] = (3,)
    keys["add_mean.weight"] = (3, 3, 1, 1)
    keys["add_mean.bias"] = (3,)
    return keys


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_official_edsr_baseline_keys_load_directly(scale: int) -> None:
    official = _official_edsr_keys(16, 64, scale)
    state = {k: torch.full(shape, 0.5) for k, shape in official.items()}
    model = EDSRBaseline(scale=scale)
    load_into(model, state, what="synthetic EDSR-PyTorch state dict")
    assert set(model.state_dict()) == set(official)
    assert torch.equal(model.tail[0][0].weight, state["tail.0.0.weight"])


def test_official_edsr_keys_match_the_full_model() -> None:
    shapes = {k: tuple(v.shape) for k, v in EDSR(scale=4).state_dict().items()}
    assert shapes == _official_edsr_keys(32, 256, 4)
