"""The checkpoint protocols (`srcnn-matlab@1`, `vdsr-pytorch@1`) and `paper@1` left as it was."""

from __future__ import annotations

import pytest
import torch

from srbench.errors import ConfigError
from srbench.protocol import PAPER, SRCNN_MATLAB, VDSR_PYTORCH, Protocol, get_protocol
from srbench.registry import protocols

RGB = torch.tensor([[[[255, 10], [0, 200]], [[0, 20], [255, 100]], [[0, 30], [0, 50]]]]).to(
    torch.uint8
)  # (1, 3, 2, 2)


def _y(r: float, g: float, b: float) -> float:
    return 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255


def test_variants_are_registered_and_versioned() -> None:
    assert {"paper", "srcnn-matlab", "vdsr-pytorch"} <= set(protocols.names())
    assert get_protocol("srcnn-matlab@1") is SRCNN_MATLAB
    assert get_protocol("vdsr-pytorch") is VDSR_PYTORCH
    with pytest.raises(ConfigError, match=r"at version 1, not 2"):
        get_protocol("srcnn-matlab@2")


def test_paper_protocol_is_unchanged() -> None:
    assert PAPER.key == "paper@1" and PAPER.y_first is None
    assert (PAPER.round_lr, PAPER.round_sr, PAPER.shave) == (True, True, "scale")
    assert PAPER.working_hr(RGB) is RGB
    assert PAPER.make_lr(torch.full((1, 3, 8, 8), 7, dtype=torch.uint8), 2).dtype == torch.uint8


def test_srcnn_matlab_rounds_y_first_and_keeps_the_lr_float() -> None:
    hr = SRCNN_MATLAB.working_hr(RGB)
    assert hr.shape == (1, 1, 2, 2) and hr.dtype == torch.uint8
    assert hr[0, 0, 0, 0] == round(_y(255, 0, 0))  # 81.48 -> 81
    assert hr[0, 0, 1, 1] == round(_y(200, 100, 50))
    lr = SRCNN_MATLAB.make_lr(torch.randint(0, 256, (1, 1, 12, 12), dtype=torch.uint8), 3)
    assert lr.dtype == torch.float64 and not torch.equal(lr, lr.round())


def test_vdsr_pytorch_keeps_everything_unrounded() -> None:
    hr = VDSR_PYTORCH.working_hr(RGB)
    assert hr.dtype == torch.float64
    assert hr[0, 0, 0, 0].item() == pytest.approx(_y(255, 0, 0))
    sr = torch.full((1, 1, 12, 12), 100.4, dtype=torch.float64)
    sr[0, 0, 0, 0] = 300.0
    prepared = VDSR_PYTORCH.prepare(sr, torch.zeros(1, 1, 12, 12, dtype=torch.float64), 2)
    assert prepared.sr[0, 0, 1, 1].item() == 100.4 and prepared.sr.max().item() == 255.0


@pytest.mark.parametrize("protocol", [SRCNN_MATLAB, VDSR_PYTORCH])
def test_a_gray_image_stays_raw_intensity(protocol: Protocol) -> None:
    gray = torch.tensor([[[[0, 17], [128, 255]]]], dtype=torch.uint8)
    assert torch.equal(protocol.working_hr(gray).double(), gray.double())


def test_crop_hr_applies_y_first_then_modcrop() -> None:
    hr = torch.randint(0, 256, (1, 3, 13, 11), dtype=torch.uint8)
    cropped = SRCNN_MATLAB.crop_hr(hr, 3)
    assert cropped.shape == (1, 1, 12, 9) and cropped.dtype == torch.uint8
    assert PAPER.crop_hr(hr, 3).shape == (1, 3, 12, 9)
