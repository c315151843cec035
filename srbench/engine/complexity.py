"""Model size and cost: parameters, and MACs/FLOPs at a stated input size (SPEC §7).

FLOPs follow `torch.utils.flop_counter.FlopCounterMode`'s convention: multiply-adds of
convolutions and matrix products count 2 FLOPs each, element-wise work (ReLU, additions,
pixel shuffle) is ignored, so MACs = FLOPs / 2. The count runs on a copy of the model on
the `meta` device: no arithmetic is done, so it is instant even for EDSR on a large input.
A native model (bicubic) runs for real on CPU instead, which takes milliseconds and spares
the sympy import of torch's meta kernels for `gather` and `bmm` (`_counting_input`).

Entering `FlopCounterMode` imports `torch._dynamo` (about 2 s of one core, more than
scoring all of B100). So the forward first runs under a `TorchFunctionMode` that applies
the same formulas to the convolutions and matrix products called through torch's API
(`_FunctionCounter`); only a model that calls anything else that could multiply matrices
(einsum, attention, RNNs, aten ops directly, a matmul of a vector) is counted again by
`FlopCounterMode`. Tests check both give the same count for every registered model. This
spares the import only for models without element-wise arithmetic, such as bicubic: in
torch 2.14 the meta kernels of element-wise ops (an add, a ReLU) import `torch._dynamo`
themselves, so a network's first count in a process still pays it (1.8 s for
EDSR-baseline), once per cache entry.

Counts are kept under `$SRBENCH_HOME/complexity/`, keyed by a fingerprint of everything
they depend on: the model's class, its printed structure and plain attributes (such as
`scale`), the names, shapes and dtypes of its parameters and buffers, its IO contract, the
input shape and dtype, the torch version and the counting convention. An unreadable entry
is counted again and rewritten; a cache that cannot be written is skipped.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from srbench.engine.lrcache import CacheInfo
from srbench.models.adapter import model_dtype, model_io
from srbench.weights import srbench_home

__all__ = [
    "FLOPS_CONVENTION",
    "Complexity",
    "clear_complexity_cache",
    "complexity_cache_dir",
    "complexity_cache_info",
    "count_flops",
    "count_params",
    "model_input_shape",
]

FLOPS_CONVENTION = "FLOPs = 2 × MACs (conv and matmul only, torch.utils.flop_counter)"

log = logging.getLogger("srbench")
_PLAIN = (bool, int, float, str, tuple)  # attribute types a fingerprint records


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


def complexity_cache_dir() -> Path:
    """Where FLOP counts are cached: `<srbench_home()>/complexity`."""
    return srbench_home() / "complexity"


def complexity_cache_info() -> CacheInfo:
    """The FLOP-count cache's folder, its entries and their total size."""
    return CacheInfo.of(complexity_cache_dir(), sorted(complexity_cache_dir().glob("*.json")))


def clear_complexity_cache() -> CacheInfo:
    """Delete every cached FLOP count; returns what was there."""
    before = complexity_cache_info()
    for path in complexity_cache_dir().glob("*.json"):
        path.unlink(missing_ok=True)
    return before


def _fingerprint(module: nn.Module, input_shape: tuple[int, ...]) -> str:
    """SHA-256 of everything a FLOP count of `module` on `input_shape` depends on."""
    kind = type(module)
    tensors = [
        (name, tuple(t.shape), str(t.dtype))
        for name, t in [*module.named_parameters(), *module.named_buffers()]
    ]
    settings = [  # plain attributes such as `scale` that steer a forward but not its repr
        sorted((k, repr(v)) for k, v in vars(m).items() if isinstance(v, _PLAIN))
        for m in module.modules()
    ]
    parts = [
        FLOPS_CONVENTION,
        torch.__version__,
        f"{kind.__module__}.{kind.__qualname__}",
        repr(module),
        repr(tensors),
        repr(settings),
        repr(model_io(module)),
        repr(tuple(input_shape)),
        str(model_dtype(module)),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


_PRODUCTS = frozenset({torch.matmul, Tensor.matmul, torch.mm, Tensor.mm, torch.bmm, Tensor.bmm})
_BIASED = frozenset({torch.addmm, Tensor.addmm, torch.baddbmm, Tensor.baddbmm})  # (bias, a, b)
_CONVS = frozenset({F.conv1d, F.conv2d, F.conv3d})
_TRANSPOSED = frozenset({F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d})
_COUNTED = _PRODUCTS | _BIASED | _CONVS | _TRANSPOSED | {F.linear}
# Names of calls that may multiply matrices in ways the formulas here do not cover.
_UNCOVERED = re.compile(r"mm|matmul|conv|einsum|tensordot|bilinear|lstm|gru|rnn|attention|dot")
_OPERANDS = ("input", "mat1", "batch1", "mat2", "batch2", "other", "weight")


def _operands(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Tensor]:
    """The tensor operands of a call in order, positional or by keyword."""
    given = [*args, *(kwargs[name] for name in _OPERANDS if name in kwargs)]
    return [t for t in given if isinstance(t, Tensor)]


def _flops(func: object, args: tuple[Any, ...], kwargs: dict[str, Any], out: Tensor) -> int | None:
    """FLOPs of one counted call by torch's formulas, or None where they need another rule
    (a matrix product with a vector operand)."""
    operands = _operands(args, kwargs)
    if func in _CONVS or func in _TRANSPOSED:
        x, weight = operands[:2]
        spatial = weight.dim() - 2
        batch = x.shape[0] if x.dim() == spatial + 2 else 1  # unbatched input: one image
        positions = (x if func in _TRANSPOSED else out).shape[-spatial:]
        return 2 * batch * math.prod(positions) * weight.numel()
    if func is F.linear:
        return 2 * out.numel() * operands[0].shape[-1]
    a, b = operands[-2:]  # after addmm's and baddbmm's bias
    return 2 * out.numel() * a.shape[-1] if a.dim() >= 2 and b.dim() >= 2 else None


class _FunctionCounter(TorchFunctionMode):
    """FLOPs of the convolutions and matrix products called through torch's API, and the
    names of calls it cannot count."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0
        self.uncovered: set[str] = set()

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: object,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        flops = _flops(func, args, kwargs, out) if func in _COUNTED else None
        if flops is not None:
            self.flops += flops
        elif func in _COUNTED or _UNCOVERED.search(getattr(func, "__name__", "")):
            self.uncovered.add(getattr(func, "__name__", repr(func)))
        return out


def _count(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    model, inp, mode = _counting_input(module, input_shape)
    with mode(), _FunctionCounter() as counter:
        model(inp)
    if not counter.uncovered:
        return counter.flops
    log.debug("counting %s with FlopCounterMode for %s", type(module).__name__, counter.uncovered)
    from torch.utils.flop_counter import FlopCounterMode

    with mode(), FlopCounterMode(display=False) as exact:
        model(inp)
    return int(exact.get_total_flops())


def _counting_input(
    module: nn.Module, input_shape: tuple[int, ...]
) -> tuple[nn.Module, Tensor, Callable[[], Any]]:
    """What to count on: a meta copy and a meta input; or, for a native model (image
    arithmetic such as bicubic: milliseconds at the cost size), the model itself on a real
    CPU input that requires a gradient, so that the protocol's compiled loops (which leave
    such tensors to torch) step aside for the torch code whose products are counted. That
    spares torch 2.14's meta kernels of `gather` and `bmm`, which import sympy (0.4 s)."""
    dtype = model_dtype(module)
    if model_io(module).native:
        return module, torch.zeros(input_shape, dtype=dtype, requires_grad=True), torch.enable_grad
    meta = copy.deepcopy(module).to("meta")
    return meta, torch.empty(input_shape, dtype=dtype, device="meta"), torch.no_grad


def _cached_flops(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    path = complexity_cache_dir() / f"{_fingerprint(module, input_shape)}.json"
    try:
        return int(json.loads(path.read_text())["flops"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent or unreadable: count again
    flops = _count(module, input_shape)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")  # unique across hosts sharing it
        tmp.write_text(json.dumps({"flops": flops}))
        tmp.replace(path)
    except OSError as exc:
        log.debug("could not cache the FLOP count in %s: %s", path.parent, exc)
    return flops


def count_flops(module: nn.Module, input_shape: tuple[int, ...]) -> Complexity:
    """Parameters, MACs and FLOPs of `module` on a float input of `input_shape`."""
    flops = _cached_flops(module, tuple(input_shape))
    return Complexity(
        params=count_params(module),
        macs=flops // 2,
        flops=flops,
        input_shape=tuple(input_shape),
        flops_convention=FLOPS_CONVENTION,
        counter=f"torch.utils.flop_counter's formulas (torch {torch.__version__})",
    )
