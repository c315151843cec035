"""Tiled inference gives the untiled output when the overlap covers the receptive field."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from baselines.edsr import EDSRBaseline
from baselines.srcnn import SRCNN
from baselines.vdsr import VDSR
from srbench.errors import ConfigError, ModelError
from srbench.models.adapter import upscale
from srbench.models.tiling import tiled_forward
from srbench.protocol import quantize


class _Calls(nn.Module):
    """Wraps a model and records the input sizes it was called with."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.sizes: list[tuple[int, int]] = []

    def forward(self, x: Tensor) -> Tensor:
        self.sizes.append((x.shape[-2], x.shape[-1]))
        return self.inner(x)


def test_tiles_reproduce_a_conv_stack_exactly_and_stay_within_the_tile_size() -> None:
    torch.manual_seed(0)
    # Receptive-field radius 3 (three 3x3 convs), then x2 pixel shuffle.
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.Conv2d(8, 12, 3, padding=1),
        nn.PixelShuffle(2),
    ).eval()
    x = torch.rand(1, 3, 53, 47)
    spy = _Calls(net)
    with torch.inference_mode():
        whole = net(x)
        tiled = tiled_forward(spy, x, tile=20, overlap=3, factor=2)
        too_little = tiled_forward(net, x, tile=20, overlap=1, factor=2)
    assert len(spy.sizes) > 4 and max(max(s) for s in spy.sizes) <= 20
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-5)
    assert (too_little - whole).abs().max() > 1e-3  # the overlap really matters


@pytest.mark.parametrize(
    ("model", "scale", "tile", "overlap", "lr_size"),
    [
        # Receptive-field radii in LR pixels: SRCNN 8/3 (on the x3 input), VDSR 20/2; for
        # EDSR-baseline (35) the default overlap of 16 already agrees to float precision.
        (SRCNN(scale=3, padding="replicate"), 3, 30, 3, (40, 35)),
        (VDSR(scale=2), 2, 46, 10, (50, 45)),
        (EDSRBaseline(scale=2), 2, 52, 16, (56, 40)),
    ],
)
def test_tiled_and_untiled_upscale_agree_within_rounding(
    model: nn.Module, scale: int, tile: int, overlap: int, lr_size: tuple[int, int]
) -> None:
    torch.manual_seed(1)
    model.eval()
    lr = torch.randint(0, 256, (1, 3, *lr_size), dtype=torch.uint8)
    whole = upscale(model, lr, scale)
    tiled = upscale(model, lr, scale, tile=tile, tile_overlap=overlap)
    assert (whole - tiled).abs().max() < 1e-3  # float summation order only
    assert (quantize(whole).int() - quantize(tiled).int()).abs().max() <= 1


def test_an_input_that_fits_is_run_whole() -> None:
    spy = _Calls(nn.Identity())
    tiled_forward(spy, torch.zeros(1, 1, 30, 30), tile=32, overlap=4, factor=1)
    assert spy.sizes == [(30, 30)]


def test_a_tile_without_core_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"--tile 32 with --tile-overlap 16 leaves no pixels"):
        tiled_forward(nn.Identity(), torch.zeros(1, 1, 64, 64), tile=32, overlap=16, factor=1)


def test_a_model_with_the_wrong_tile_output_size_fails() -> None:
    with pytest.raises(ModelError, match=r"a 18x18 tile gave a 18x18 output, not 2 times its size"):
        tiled_forward(nn.Identity(), torch.zeros(1, 1, 64, 64), tile=20, overlap=2, factor=2)
