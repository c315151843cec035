"""`quantize` rounds as MATLAB's uint8() does, on the compiled and the torch path."""

from __future__ import annotations

import math

import pytest
import torch

from srbench.protocol import quantize


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.uint8])
def test_quantize_matches_the_torch_formula(dtype: torch.dtype) -> None:
    edges = [-1e9, -0.5, -0.0, 0.4999999, 0.5, 1.5, 2.5, 254.5, 254.49999, 255.4, 255.5, 1e9]
    gen = torch.Generator().manual_seed(3)
    values = torch.cat([torch.tensor(edges), torch.randn(5000, generator=gen) * 150 + 128])
    if dtype == torch.uint8:
        values = values.clamp(0, 255)
    img = values.to(dtype).view(1, 1, -1)
    expected = img.double().clamp(0, 255).add(0.5).to(torch.uint8)
    out = quantize(img)
    assert out.dtype == torch.uint8 and out.shape == img.shape
    assert torch.equal(out, expected)


def test_quantize_maps_nan_to_zero_and_infinities_to_the_ends() -> None:
    out = quantize(torch.tensor([math.nan, math.inf, -math.inf], dtype=torch.float64))
    assert out.tolist() == [0, 255, 0]


def test_a_uint8_image_comes_back_as_it_is() -> None:
    img = torch.randint(0, 256, (1, 3, 5, 4), dtype=torch.uint8)
    assert quantize(img) is img


def test_the_torch_path_rounds_the_same() -> None:
    img = torch.tensor([-3.0, 0.5, 1.49, 2.5, 254.5, 300.0], dtype=torch.float64)
    with torch.enable_grad():  # a tensor needing a gradient skips the compiled loop
        out = quantize(img.requires_grad_(True))
    assert out.tolist() == [0, 1, 1, 3, 255, 255]
