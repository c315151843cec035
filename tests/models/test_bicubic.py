"""The bicubic baseline is MATLAB's imresize: uint8 SR for a uint8 LR, float64 for a float LR."""

from __future__ import annotations

import pytest
import torch

from srbench.models.adapter import upscale
from srbench.models.bicubic import Bicubic
from srbench.protocol import PAPER, VDSR_PYTORCH, quantize
from srbench.protocol.imresize import imresize


def _hr(channels: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(channels)
    return torch.randint(0, 256, (1, channels, 36, 30), dtype=torch.uint8, generator=gen)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_paper_protocol_sr_is_the_rounded_float_sr(scale: int, channels: int) -> None:
    hr = PAPER.crop_hr(_hr(channels), scale)
    lr = PAPER.make_lr(hr, scale)
    sr = upscale(Bicubic(scale=scale), lr, scale, name="bicubic")
    assert lr.dtype == sr.dtype == torch.uint8
    assert torch.equal(sr, quantize(imresize(lr.double(), float(scale))))
    assert torch.equal(PAPER.prepare(sr, hr, scale).sr, sr)


def test_a_float_lr_gets_unrounded_float64_sr() -> None:
    hr = VDSR_PYTORCH.crop_hr(_hr(3), 3)
    lr = VDSR_PYTORCH.make_lr(hr, 3)
    assert lr.dtype == torch.float64 and lr.shape[1] == 1  # MATLAB Y, not rounded
    sr = upscale(Bicubic(scale=3), lr, 3, name="bicubic")
    assert sr.dtype == torch.float64
    assert torch.equal(sr, imresize(lr, 3.0))
    assert not torch.equal(sr, sr.round())


def test_tiled_inference_takes_the_float_path() -> None:
    lr = PAPER.make_lr(PAPER.crop_hr(_hr(3), 2), 2)
    tiled = upscale(Bicubic(scale=2), lr, 2, name="bicubic", tile=12, tile_overlap=4)
    assert tiled.dtype == torch.float64
    assert (quantize(tiled).int() - upscale(Bicubic(scale=2), lr, 2).int()).abs().max() <= 1
