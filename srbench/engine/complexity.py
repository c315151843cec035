"""Model size and cost: parameters, and MACs/FLOPs at a stated input size (SPEC §7).

FLOPs come from `torch.utils.flop_counter.FlopCounterMode`, which counts multiply-adds of
convolutions and matrix products as 2 FLOPs each and ignores element-wise work (ReLU,
additions, pixel shuffle); so MACs = FLOPs / 2. The count runs on a copy of the model on
the `meta` device: no arithmetic is done, so it is instant even for EDSR on a large input.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from srbench.models.adapter import model_dtype, model_io

__all__ = ["FLOPS_CONVENTION", "Complexity", "count_flops", "count_params", "model_input_shape"]

FLOPS_CONVENTION = "FLOPs = 2 × MACs (conv and matmul only, torch.utils.flop_counter)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Complexity:
    """Parameters and cost of one forward pass on an input of `input_shape` (N, C, H, W)."""

    params: int
    macs: int
    flops: int
    input_shape: tuple[int, ...]
    flops_convention: str
    counter: str


def count_params(module: nn.Module) -> int:
    """Number of parameters (buffers such as fixed mean shifts are not counted)."""
    return sum(p.numel() for p in module.parameters())


def model_input_shape(
    module: nn.Module, lr_size: tuple[int, int], scale: int, *, batch: int = 1
) -> tuple[int, int, int, int]:
    """The shape the network itself sees for an LR image of `lr_size` (h, w), per its ModelIO:
    1 channel for Y models, 3 for RGB, and `scale` times the size if it is pre-upsampled."""
    io = model_io(module)
    height, width = lr_size
    if io.upsampled_input:
        height, width = height * scale, width * scale
    return (batch, 1 if io.color == "y" else 3, height, width)


def count_flops(module: nn.Module, input_shape: tuple[int, ...]) -> Complexity:
    """Parameters, MACs and FLOPs of `module` on a float input of `input_shape`."""
    from torch.utils.flop_counter import FlopCounterMode

    meta = copy.deepcopy(module).to("meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        meta(torch.empty(input_shape, dtype=model_dtype(module), device="meta"))
    flops = int(counter.get_total_flops())
    return Complexity(
        params=count_params(module),
        macs=flops // 2,
        flops=flops,
        input_shape=tuple(input_shape),
        flops_convention=FLOPS_CONVENTION,
        counter=f"torch.utils.flop_counter (torch {torch.__version__})",
    )
