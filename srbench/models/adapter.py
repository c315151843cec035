"""Applies a model's declared `ModelIO`: colour space, value range, pre-upsampling, gray images.

The runner hands every model a uint8 (or float, for float-LR protocols) LR batch on the 0-255
scale and gets back a float SR batch on the 0-255 scale, unrounded: the protocol quantises.
A `native` model (bicubic) takes that batch as it is and returns its own dtype: uint8 SR
already rounded, which spares a float64 copy of every SR image and a rounding pass.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from srbench.errors import ModelError
from srbench.models.tiling import tiled_forward
from srbench.protocol.color import rgb_to_ycbcr, ycbcr_to_rgb
from srbench.protocol.imresize import imresize
from srbench.specs import ModelIO

__all__ = ["model_dtype", "model_io", "upscale"]


def model_io(model: nn.Module) -> ModelIO:
    """The model's declared IO contract, or the default (RGB in [0, 1], LR-sized input)."""
    io = getattr(model, "io", None)
    return io if isinstance(io, ModelIO) else ModelIO()


def model_dtype(model: nn.Module) -> torch.dtype:
    """Dtype the model computes in: its parameters' dtype, float64 for parameter-free models."""
    param = next(iter(model.parameters()), None)
    return param.dtype if param is not None else torch.float64


def _device(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def upscale(
    model: nn.Module,
    lr: Tensor,
    scale: int,
    *,
    name: str = "model",
    tile: int | None = None,
    tile_overlap: int = 16,
) -> Tensor:
    """Run `model` on an LR batch (N, C, h, w), C in {1, 3}, 0-255; return float64 SR 0-255
    on the device of `lr`.

    Gray images (C = 1) go to an RGB model as three equal channels, and its output comes back
    as the mean of its channels; a Y model sees the raw intensity. For colour images a Y model
    gets MATLAB Y, and Cb/Cr of the output are the bicubic upscaled Cb/Cr of the LR.
    With `tile`, the network runs on overlapping tiles of `tile` LR pixels (see `tiling`).
    """
    io = model_io(model)
    if io.native and tile is None:
        with torch.inference_mode():
            out = _tensor(model(lr), name)
        want = (*lr.shape[:2], lr.shape[2] * scale, lr.shape[3] * scale)
        return _validated(out, want, name, scale, tuple(lr.shape))
    x = lr.double()
    n, c, h, w = x.shape
    chroma = None
    if io.color == "y":
        if c == 3:
            ycc = rgb_to_ycbcr(x)
            x, chroma = ycc[:, :1], imresize(ycc[:, 1:], scale)
        inp = x
    else:
        inp = x.expand(n, 3, h, w) if c == 1 else x
    if io.upsampled_input:
        inp = imresize(inp, scale)
    dtype = model_dtype(model)
    x_in = inp.to(_device(model), dtype)
    if io.value_range != 255.0:
        x_in = x_in * (io.value_range / 255.0)
    with torch.inference_mode():
        if tile is None:
            out = model(x_in)
        else:
            ratio = scale if io.upsampled_input else 1  # tiles are counted in LR pixels
            out = tiled_forward(
                model,
                x_in,
                tile=tile * ratio,
                overlap=tile_overlap * ratio,
                factor=1 if io.upsampled_input else scale,
            )
    out = _tensor(out, name).detach().to(lr.device, torch.float64)  # on the caller's device
    if io.value_range != 255.0:
        out = out * (255.0 / io.value_range)
    out = _validated(out, (n, inp.shape[1], h * scale, w * scale), name, scale, tuple(inp.shape))
    if chroma is not None:
        out = ycbcr_to_rgb(torch.cat([out, chroma], dim=1))
    elif io.color == "rgb" and c == 1:
        out = out.mean(dim=1, keepdim=True)
    return out


def _tensor(out: object, name: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise ModelError(f"{name} returned {type(out).__name__}, not a Tensor")
    return out


def _validated(
    out: Tensor, want: tuple[int, ...], name: str, scale: int, inp: tuple[int, ...]
) -> Tensor:
    """`out` if it has the SR shape `want` and no NaN or Inf; else a ModelError."""
    if tuple(out.shape) != want:
        raise ModelError(
            f"{name} returned shape {tuple(out.shape)} for LR {inp} at x{scale}; expected {want}",
            hint="the model's forward must return `scale` times the LR height and width",
        )
    # NaN and Inf reach the sum, a single reduction (2 ms less per megapixel than isfinite)
    if out.is_floating_point() and not torch.isfinite(out.sum()) and not torch.isfinite(out).all():
        raise ModelError(f"{name} returned NaN or Inf values at x{scale}")
    return out
