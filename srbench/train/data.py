"""Training data: HR images from a folder, LR by the protocol, random aligned patches.

Each HR image is decoded with `read_image`, modcropped, and its LR made once with the
protocol's MATLAB bicubic (`Protocol.make_lr`, uint8) — and its boundary map, when a loss
needs one — then cached per image (keyed by its SHA-256) under `cache_dir`. Patches are
cropped from LR and HR at aligned positions, so no patch sees a resize border that the
test images do not have, and augmented by the 8 flips/transposes.
"""

from __future__ import annotations

import hashlib
import secrets
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from srbench.data.io import read_image, sha256_file
from srbench.data.sets import IMAGE_SUFFIXES, SAMPLES
from srbench.errors import ConfigError, DataError, SrbenchError
from srbench.protocol import Protocol, quantize
from srbench.protocol.color import luma_channel
from srbench.protocol.imresize import imresize
from srbench.specs import ModelIO
from srbench.train.boundary import boundary_map

__all__ = [
    "Batch",
    "PatchSampler",
    "TrainImage",
    "TrainSet",
    "load_train_set",
    "resolve_train_data",
    "to_model_color",
]


@dataclass(frozen=True, slots=True)
class TrainImage:
    """One training image: uint8 HR (modcropped), its uint8 LR, and its boundary map."""

    image_id: str
    sha256: str
    hr: Tensor
    lr: Tensor
    boundary: Tensor | None = None


@dataclass(frozen=True, slots=True)
class TrainSet:
    """The training and held-out images of a folder, with the manifest stored in checkpoints."""

    train: list[TrainImage]
    val: list[TrainImage]
    manifest: dict[str, object]


def _list_images(source: Path | Sequence[Path]) -> list[Path]:
    """The image files of a folder (sorted; hidden files skipped), or the given files."""
    if not isinstance(source, Path):
        return [Path(p) for p in source]
    if not source.is_dir():
        raise DataError(
            f"training folder {source} does not exist or is not a folder",
            hint="pass --data DIR, a folder of HR images (.png, .jpg, .bmp, .tif)",
        )
    try:
        files = sorted(
            p
            for p in source.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
        )
    except OSError as exc:
        raise DataError(f"cannot list training folder {source}: {exc}") from exc
    if not files:
        raise DataError(
            f"training folder {source} holds no images",
            hint=f"put HR images ({' '.join(sorted(IMAGE_SUFFIXES))}) directly in it",
        )
    return files


def resolve_train_data(value: str | None, data_root: Path | None) -> Path | tuple[Path, ...]:
    """`--data`: a folder; `samples` (the embedded photos); or, unset, `<data root>/train/T91`
    when it exists, else the embedded photos."""
    if value is None and data_root is not None and (Path(data_root) / "train" / "T91").is_dir():
        return Path(data_root) / "train" / "T91"
    if value is None or value == "samples":
        return tuple(ref.path for ref in SAMPLES.images(None, 2))
    return Path(value)


def _cached(cache_dir: Path | None, key: str, make: Callable[[], Tensor]) -> Tensor:
    if cache_dir is None:
        return make()
    path = cache_dir / f"{key}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    value = make()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")  # one per writer:
    torch.save(value, tmp)  # parallel training jobs fill the same cache
    tmp.replace(path)
    return value


def load_train_set(
    source: Path | Sequence[Path],
    *,
    scale: int,
    patch_size: int,
    protocol: Protocol,
    val_images: int = 0,
    boundary: str | None = None,
    cache_dir: Path | None = None,
) -> TrainSet:
    """Read every image of `source` (a folder or a list of files), skipping (with a warning)
    unreadable or too-small ones."""
    if patch_size % scale:
        raise ConfigError(
            f"--patch-size {patch_size} is not a multiple of the scale {scale}",
            hint=f"use a multiple of {scale}, e.g. {patch_size - patch_size % scale or scale}",
        )
    images: list[TrainImage] = []
    skipped: list[tuple[str, str]] = []
    for path in _list_images(source):
        try:
            sha = sha256_file(path)
            hr = protocol.crop_hr(read_image(path), scale)
        except SrbenchError as exc:  # unreadable, corrupt or too small for the scale
            skipped.append((path.name, str(exc).splitlines()[0]))
            continue
        if min(hr.shape[-2:]) < patch_size:
            skipped.append((path.name, f"{hr.shape[-1]}x{hr.shape[-2]} < patch {patch_size}"))
            continue
        key = f"{sha[:24]}-x{scale}-{protocol.key}"
        lr = _cached(cache_dir, key, lambda hr=hr: protocol.make_lr(hr[None], scale)[0])
        edges = None
        if boundary is not None:
            name = boundary.replace(":", "-").replace(".", "-")
            edges = _cached(
                cache_dir, f"{sha[:24]}-x{scale}-{name}", lambda hr=hr: boundary_map(hr, boundary)
            )
        images.append(TrainImage(path.stem, sha, hr, lr, edges))
    for name, reason in skipped:
        warnings.warn(f"training image {name} skipped: {reason}", UserWarning, stacklevel=2)
    if len(images) <= val_images:
        raise DataError(
            f"{_describe(source)}: {len(images)} usable training image(s) "
            f"of {len(images) + len(skipped)}"
            + (f" ({val_images} held out for validation)" if val_images else ""),
            hint=f"use images of at least {patch_size}x{patch_size} px, a smaller --patch-size, "
            "or fewer --val-images",
        )
    # every k-th image is held out, so the choice is deterministic and spread over the folder
    step = len(images) / val_images if val_images else 0
    val_idx = {int(i * step + step / 2) for i in range(val_images)}
    val = [im for i, im in enumerate(images) if i in val_idx]
    train = [im for i, im in enumerate(images) if i not in val_idx]
    listing = [[im.image_id, im.sha256] for im in images]
    manifest = {
        "source": _describe(source),
        "protocol": protocol.key,
        "scale": scale,
        "images": listing,
        "val_images": [im.image_id for im in val],
        "skipped": [list(s) for s in skipped],
        "digest": hashlib.sha256(repr(listing).encode()).hexdigest(),
    }
    return TrainSet(train=train, val=val, manifest=manifest)


def _describe(source: Path | Sequence[Path]) -> str:
    if isinstance(source, Path):
        return str(source.resolve())
    return f"{len(source)} files in {', '.join(sorted({str(Path(p).parent) for p in source}))}"


def to_model_color(img_u8: Tensor, io: ModelIO) -> Tensor:
    """uint8 (N, C, H, W) → float32 in [0, 1] in the model's colour, as the adapter feeds it:
    Y models get MATLAB Y (raw intensity of gray images), RGB models gray as 3 channels."""
    if io.color == "y":
        return (luma_channel(img_u8) / 255.0).float()
    img = img_u8.float() / 255.0
    return img.expand(-1, 3, -1, -1) if img.shape[1] == 1 else img


@dataclass
class Batch:
    """One training batch in the model's colour on [0, 1]: LR patches, HR patches, the model
    input (LR, bicubic-upsampled for `upsampled_input` models) and optional boundary maps."""

    lr: Tensor
    hr: Tensor
    inputs: Tensor
    scale: int
    boundary: Tensor | None = None
    _targets: dict[tuple[int, int], Tensor] = field(default_factory=dict, repr=False)

    def to(self, device: str | torch.device) -> Batch:
        """The batch on `device`."""
        edges = self.boundary.to(device) if self.boundary is not None else None
        lr, hr, inputs = (t.to(device) for t in (self.lr, self.hr, self.inputs))
        return Batch(lr, hr, inputs, self.scale, edges)

    def target(self, size: tuple[int, int]) -> Tensor:
        """The HR target at `size`: HR, the LR itself, or HR by MATLAB bicubic rounded to
        1/255 steps like the LR (DRN's intermediate targets)."""
        if size == tuple(self.hr.shape[-2:]):
            return self.hr
        if size == tuple(self.lr.shape[-2:]):
            return self.lr
        if size not in self._targets:
            down = imresize(self.hr.double() * 255.0, size=size)
            self._targets[size] = (quantize(down).to(self.hr.dtype) / 255.0).to(self.hr.device)
        return self._targets[size]


class PatchSampler:
    """Draws random aligned LR/HR patches with random flips/transposes from a seeded generator."""

    def __init__(
        self,
        images: list[TrainImage],
        *,
        scale: int,
        patch_size: int,
        batch_size: int,
        io: ModelIO,
        seed: int,
    ) -> None:
        self.images = images
        self.scale = scale
        self.lr_patch = patch_size // scale
        self.batch_size = batch_size
        self.io = io
        self.generator = torch.Generator().manual_seed(seed)

    def _draw(self, n: int) -> int:
        return int(torch.randint(n, (1,), generator=self.generator))

    def _patch(self, image: TrainImage) -> tuple[Tensor, Tensor, Tensor | None]:
        s, p = self.scale, self.lr_patch
        y = self._draw(image.lr.shape[-2] - p + 1)
        x = self._draw(image.lr.shape[-1] - p + 1)
        lr = image.lr[:, y : y + p, x : x + p]
        hr = image.hr[:, s * y : s * (y + p), s * x : s * (x + p)]
        edges = None
        if image.boundary is not None:
            edges = image.boundary[:, s * y : s * (y + p), s * x : s * (x + p)]
        flips = torch.randint(2, (3,), generator=self.generator).tolist()
        out = []
        for t in (lr, hr, edges):
            if t is not None:
                t = t.flip(-1) if flips[0] else t
                t = t.flip(-2) if flips[1] else t
                t = t.transpose(-1, -2) if flips[2] else t
            out.append(t)
        return out[0], out[1], out[2]

    def sample(self) -> Batch:
        """The next batch; the generator state makes the sequence reproducible and resumable."""
        n = len(self.images)
        parts = [self._patch(self.images[self._draw(n)]) for _ in range(self.batch_size)]
        # per patch, so a gray image gets the same colour rule as in evaluation
        lr = torch.cat([to_model_color(p[0][None], self.io) for p in parts])
        hr = torch.cat([to_model_color(p[1][None], self.io) for p in parts])
        inputs = imresize(lr, float(self.scale)) if self.io.upsampled_input else lr
        edges = None
        if parts[0][2] is not None:
            edges = torch.stack([p[2] for p in parts]).float()
        return Batch(lr, hr, inputs, self.scale, edges)
