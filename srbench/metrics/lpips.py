"""LPIPS (AlexNet, v0.1) per image through the `lpips` package, with weights from local files.

The `lpips` package ships its linear layers but downloads the AlexNet backbone from
torchvision at first use, which fails offline. Here the backbone comes from srbench's
weights cache (`$SRBENCH_HOME/weights/lpips-alex/`), checked on every load by a digest of
its tensors; `import_backbone` (behind `srbench weights import FILE`) puts it there from
either accepted source file. Inputs are RGB in [-1, 1] after the protocol's crop and shave
(gray images replicated to RGB).
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from srbench.errors import WeightsError
from srbench.metrics.psnr import check_pair
from srbench.registry import register_metric

__all__ = [
    "BACKBONE",
    "Backbone",
    "backbone_path",
    "import_backbone",
    "is_backbone_file",
    "lpips",
    "tensors_sha256",
]


@dataclass(frozen=True, slots=True)
class Backbone:
    """The AlexNet feature layers LPIPS runs on: accepted source files and the tensor digest."""

    name: str
    filename: str
    # SHA-256 of the features-only file (../shared/weights/lpips/alexnet_features.pt).
    sha256: str
    # torchvision's whole AlexNet, from which the same features can be taken.
    source_url: str
    source_sha256_prefix: str
    # Digest of the tensors themselves: torch.save does not reproduce a file's bytes.
    tensors_sha256: str


BACKBONE = Backbone(
    name="lpips-alex",
    filename="alexnet_features.pt",
    sha256="e94f83bd520080697c80a27e01c2c9fc8f4cf63560bc26caf552842b70ca53dc",
    source_url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    source_sha256_prefix="7be5be79",
    tensors_sha256="a12805acbd6a354c934c582e6b96f585e7c3a37657c7a181de16bcdc351d0a64",
)

# lpips' AlexNet splits torchvision's `features` into five slices by layer index.
_SLICES = (
    (1, range(0, 2)),
    (2, range(2, 5)),
    (3, range(5, 8)),
    (4, range(8, 10)),
    (5, range(10, 12)),
)


def tensors_sha256(state: dict[str, Tensor]) -> str:
    """SHA-256 over the sorted names, dtypes, shapes and bytes of a state dict's tensors."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def backbone_path() -> Path:
    """Where the checked backbone lives in the weights cache."""
    from srbench.weights.cache import weights_dir

    return weights_dir() / BACKBONE.name / BACKBONE.filename


def is_backbone_file(digest: str) -> bool:
    """True if a file's SHA-256 marks it as an accepted source of the LPIPS backbone."""
    return digest == BACKBONE.sha256 or digest.startswith(BACKBONE.source_sha256_prefix)


def import_backbone(source: Path) -> Path:
    """Put the backbone into the cache from the features-only file or torchvision's AlexNet."""
    from srbench.data.io import sha256_file

    digest = sha256_file(source)
    if not is_backbone_file(digest):
        raise WeightsError(
            f"{source} (SHA-256 {digest}) is neither {BACKBONE.filename} ({BACKBONE.sha256}) "
            f"nor torchvision's AlexNet ({BACKBONE.source_url})",
            hint="import one of those two files",
        )
    loaded = torch.load(source, map_location="cpu", weights_only=True)
    state = {k: v for k, v in loaded.items() if k.startswith("features.")}
    if tensors_sha256(state) != BACKBONE.tensors_sha256:
        raise WeightsError(
            f"the AlexNet features in {source} differ from the expected LPIPS backbone",
            hint=f"use torchvision's {BACKBONE.source_url} or the features-only file",
        )
    target = backbone_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    torch.save(state, partial)
    partial.replace(target)
    return target


def _load_backbone() -> dict[str, Tensor]:
    path = backbone_path()
    if not path.is_file():
        raise WeightsError(
            f"LPIPS needs its AlexNet backbone at {path}, which is missing",
            hint=f"download {BACKBONE.source_url} on a machine with internet (or take "
            f"{BACKBONE.filename}) and run `srbench weights import FILE`; "
            "the other metrics run without it",
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if tensors_sha256(state) != BACKBONE.tensors_sha256:
        raise WeightsError(
            f"{path} does not hold the expected AlexNet backbone (tensor digest differs)",
            hint="import the backbone again with `srbench weights import FILE`",
        )
    return state


@functools.cache
def _network(device: str) -> torch.nn.Module:
    import lpips as lpips_package

    with warnings.catch_warnings():  # torchvision's notice about the `pretrained` argument
        warnings.simplefilter("ignore", UserWarning)
        net = lpips_package.LPIPS(
            net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False
        )
    state = _load_backbone()
    mapped = {
        f"slice{s}.{i}.{kind}": state[f"features.{i}.{kind}"]
        for s, layers in _SLICES
        for i in layers
        for kind in ("weight", "bias")
        if f"features.{i}.{kind}" in state
    }
    net.net.load_state_dict(mapped, strict=True)
    return net.eval().to(device)


@register_metric("lpips", higher_is_better=False, space="rgb_pm1")
def lpips(sr: Tensor, hr: Tensor) -> Tensor:
    """Learned perceptual distance per image (AlexNet v0.1; lower is better): (N,3,H,W) -> (N,)."""
    check_pair(sr, hr, "lpips")
    net = _network(str(sr.device))
    with torch.inference_mode():
        distance = net(sr.float(), hr.float(), normalize=False)
    return distance.flatten().double()
