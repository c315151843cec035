"""SPEC §3's traps, measured on the real images: each wrong step moves the numbers.

These pin *why* the protocol is what it is: a regression that slips one of these
mistakes into srbench moves a golden number by about the amount shown here.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from srbench.data.io import read_image
from srbench.metrics.psnr import psnr
from srbench.protocol import PAPER, quantize
from srbench.protocol.color import luma_channel, rgb_to_y
from srbench.protocol.crop import shave
from srbench.protocol.imresize import imresize


def _mean_psnr(root: Path, dataset: str, scale: int, variant: str) -> float:
    values = []
    for path in sorted((root / dataset).glob("*.png")):
        hr = PAPER.crop_hr(read_image(path)[None], scale)
        if variant == "opencv-like":  # cubic a = -0.75, no antialiasing (OpenCV INTER_CUBIC)

            def resize(x: torch.Tensor, f: float) -> torch.Tensor:
                return F.interpolate(
                    x.double(), scale_factor=f, mode="bicubic", align_corners=False
                )

            sr = quantize(resize(quantize(resize(hr, 1 / scale)), scale))
        else:
            sr_float = imresize(PAPER.make_lr(hr, scale).double(), scale)
            sr = sr_float.clamp(0, 255) if variant == "float-sr" else quantize(sr_float)
        border = {"no-shave": 0, "shave+6": scale + 6}.get(variant, scale)
        values.append(psnr(shave(luma_channel(sr), border), shave(luma_channel(hr), border)))
    return float(torch.cat(values).mean())


@pytest.fixture(scope="module")
def paper_set14_x2(data_root: Path) -> float:
    return _mean_psnr(data_root, "Set14", 2, "paper")


def test_opencv_like_resizing_inflates_set5_x2(data_root: Path) -> None:
    shift = _mean_psnr(data_root, "Set5", 2, "opencv-like") - _mean_psnr(
        data_root, "Set5", 2, "paper"
    )
    assert 0.6 < shift < 1.0  # SPEC §3: about +0.8 dB


def test_no_shave_and_wider_shave_move_set14(data_root: Path, paper_set14_x2: float) -> None:
    assert _mean_psnr(data_root, "Set14", 2, "no-shave") < paper_set14_x2 - 0.1
    assert _mean_psnr(data_root, "Set14", 2, "shave+6") != pytest.approx(paper_set14_x2, abs=1e-3)


def test_scoring_float_output_differs_from_uint8(data_root: Path, paper_set14_x2: float) -> None:
    assert _mean_psnr(data_root, "Set14", 2, "float-sr") != pytest.approx(paper_set14_x2, abs=1e-3)


def test_gray_image_replicated_to_rgb_then_y_gains_1_32_db(data_root: Path) -> None:
    hr = PAPER.crop_hr(read_image(data_root / "Set14" / "bridge.png")[None], 2)
    assert hr.shape[1] == 1
    sr = quantize(imresize(PAPER.make_lr(hr, 2).double(), 2))
    raw = psnr(shave(luma_channel(sr), 2), shave(luma_channel(hr), 2)).item()
    as_rgb = psnr(
        shave(rgb_to_y(sr.expand(-1, 3, -1, -1)), 2), shave(rgb_to_y(hr.expand(-1, 3, -1, -1)), 2)
    ).item()
    assert as_rgb - raw == pytest.approx(20 * math.log10(255 / 219), abs=0.01)
    assert (as_rgb - raw) / 14 == pytest.approx(0.09, abs=0.01)  # the Set14 mean moves
