"""The training loop behind `srbench train`: any registered model, any loss spec, resumable.

Adam (0.9, 0.999, 1e-8) with a per-step cosine decay to `min_learning_rate` (the DRN
group's recipe), random aligned patches with flips/transposes, a seeded initialisation and
patch stream, checkpoints every `checkpoint_every` steps, and validation PSNR through the
evaluation protocol on held-out images. Given the same config, a run that is killed and
resumed ends with the same weights as one that is not (on the same device and threads).

Models train on [0, 1] in their declared colour (`ModelIO`). A model that defines
`train_outputs(lr) -> dict` ([0, 1] in and out) exposes extra outputs to the losses
(`pyramid`, `dual`, `image`, ...); any other model trains through `forward` with the
pixel losses.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from srbench.errors import ConfigError, ModelError
from srbench.models import model_version
from srbench.models.adapter import model_io, upscale
from srbench.protocol import Protocol, get_protocol
from srbench.registry import metrics, models
from srbench.train.checkpoint import build_trainable, read_checkpoint, write_checkpoint
from srbench.train.data import PatchSampler, TrainImage, TrainSet, load_train_set
from srbench.train.losses import CompositeLoss, parse_loss
from srbench.train.options import bind

__all__ = ["IDENTITY", "TrainConfig", "TrainResult", "outputs_of", "train"]

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """Everything one training run needs, fully resolved (stored in its checkpoint)."""

    model: str
    scale: int
    data: Path | tuple[Path, ...]
    out: Path
    loss: str = "l1"
    model_options: dict[str, Any] = field(default_factory=dict)
    steps: int = 1000
    batch_size: int = 16
    patch_size: int = 96
    learning_rate: float = 1e-4
    min_learning_rate: float = 1e-7
    seed: int = 0
    val_images: int = 2
    val_every: int = 0
    checkpoint_every: int = 100
    boundary: str = "canny"
    protocol: str = "paper"
    device: str = "cpu"
    amp: bool = False
    cache_dir: Path | None = None

    def record(self) -> dict[str, Any]:
        """The config as plain values (paths as strings), as stored in checkpoints."""
        record = dataclasses.asdict(self)
        record["data"] = (
            str(self.data) if isinstance(self.data, Path) else [str(p) for p in self.data]
        )
        return {k: str(v) if isinstance(v, Path) else v for k, v in record.items()}


# what a resumed run must share with the checkpoint (plus the training data's digest)
IDENTITY = (
    "model",
    "scale",
    "model_options",
    "loss",
    "steps",
    "batch_size",
    "patch_size",
    "learning_rate",
    "min_learning_rate",
    "seed",
    "val_images",
    "boundary",
    "protocol",
)


@dataclass
class TrainResult:
    """Where the checkpoint is, how far training got, and its history of losses/PSNR."""

    checkpoint: Path
    step: int
    history: list[dict[str, float]]
    seconds: float
    resumed_from: int = 0


def outputs_of(model: nn.Module, lr: Tensor) -> dict[str, Any]:
    """The model's training outputs on [0, 1]: `train_outputs`, or `forward` as `sr`."""
    if hasattr(model, "train_outputs"):
        return model.train_outputs(lr)
    scale = model_io(model).value_range
    return {"sr": model(lr * scale) / scale}


def _check(config: TrainConfig) -> None:
    for name in ("steps", "batch_size", "patch_size", "checkpoint_every"):
        if getattr(config, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
    if config.val_images < 0 or config.val_every < 0:
        raise ConfigError("--val-images and --val-every must not be negative")
    if not config.learning_rate > 0 or config.min_learning_rate < 0:
        raise ConfigError("--learning-rate must be positive and --min-learning-rate >= 0")
    if config.amp and not config.device.startswith("cuda"):
        raise ConfigError("--amp needs a CUDA device", hint="add --device cuda, or drop --amp")


def _resume_state(path: Path, config: TrainConfig, digest: str) -> dict[str, Any]:
    """The checkpoint at `path`, refused (saying what differs) if another config made it."""
    payload = read_checkpoint(path)
    stored = payload["config"]
    now = config.record()
    diffs = [
        f"{k}: {stored.get(k)!r} there, {now[k]!r} now" for k in IDENTITY if stored.get(k) != now[k]
    ]
    if payload["data_manifest"]["digest"] != digest:
        diffs.append("the training images differ (names or SHA-256 of the files)")
    if diffs:
        raise ConfigError(
            f"cannot resume {path}: it was trained with another configuration; " + "; ".join(diffs),
            hint="rerun with the checkpoint's options, or train into another --out",
        )
    return payload


def validate(model: nn.Module, images: list[TrainImage], scale: int, protocol: Protocol) -> float:
    """Mean PSNR (protocol-scored, e.g. paper: Y, shave s) of `model` on held-out images."""
    psnr = metrics.get("psnr")
    was_training = model.training
    model.eval()
    values = []
    for image in images:
        sr = upscale(model, image.lr[None], scale)
        prepared = protocol.prepare(sr, image.hr[None], scale)
        values.append(float(psnr(*prepared.view("y255"))[0]))
    model.train(was_training)
    return sum(values) / len(values)


def train(config: TrainConfig, *, resume: bool = False, progress: bool = False) -> TrainResult:
    """Train `config.model` on the HR images of `config.data`; see the module docstring."""
    _check(config)
    protocol = get_protocol(config.protocol)
    loss = parse_loss(config.loss)
    # typed options, so a resume compares `n_feats=8` from the CLI equal to 8 from Python
    options = bind(models.get(config.model), config.model_options, f"model {config.model!r}")
    config = dataclasses.replace(config, model_options=options)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_trainable(config.model, config.scale, options)
    io = model_io(model)
    side = config.patch_size // config.scale * (config.scale if io.upsampled_input else 1)
    with torch.no_grad():
        probe = outputs_of(model, torch.zeros(1, 1 if io.color == "y" else 3, side, side))
    loss.check_outputs(set(probe), config.model)
    path = config.out / CHECKPOINT
    if path.exists() and not resume:
        raise ConfigError(
            f"{path} already exists",
            hint="pass --resume to continue it, or train into another --out",
        )
    data = load_train_set(
        config.data,
        scale=config.scale,
        patch_size=config.patch_size,
        protocol=protocol,
        val_images=config.val_images,
        boundary=config.boundary if loss.uses_boundary else None,
        cache_dir=config.cache_dir or config.out / "cache",
    )
    state = _resume_state(path, config, str(data.manifest["digest"])) if path.exists() else None
    return _Run(config, model, loss, data, protocol, path, state).loop(progress)


class _Run:
    """The mutable state of one run: model, optimiser, schedule, sampler, history."""

    def __init__(
        self,
        config: TrainConfig,
        model: nn.Module,
        loss: CompositeLoss,
        data: TrainSet,
        protocol: Protocol,
        path: Path,
        state: dict[str, Any] | None,
    ) -> None:
        self.config = config
        self.model = model.to(config.device).train()
        self.loss = loss
        self.data = data
        self.protocol = protocol
        self.path = path
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config.learning_rate, betas=(0.9, 0.999), eps=1e-8
        )
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, T_max=config.steps, eta_min=config.min_learning_rate
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.amp)
        self.sampler = PatchSampler(
            data.train,
            scale=config.scale,
            patch_size=config.patch_size,
            batch_size=config.batch_size,
            io=model_io(model),
            seed=config.seed,
        )
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.saved_step = 0
        if state is not None:
            self.model.load_state_dict(state["state_dict"])
            resume = state["resume"]
            self.optimizer.load_state_dict(resume["optimizer"])
            self.schedule.load_state_dict(resume["schedule"])
            self.scaler.load_state_dict(resume["scaler"])
            self.sampler.generator.set_state(resume["sampler"])
            self.step = self.saved_step = int(state["step"])
            self.history = list(state["history"])
        self.start = self.step

    def save(self) -> None:
        """Write the checkpoint, unless the weights went non-finite (keep the last good one)."""
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            self.fail("the weights", self.step)
        cfg = self.config
        write_checkpoint(
            self.path,
            {
                "model": cfg.model,
                "scale": cfg.scale,
                "model_options": dict(cfg.model_options),
                "model_version": model_version(type(self.model)),
                "config": cfg.record(),
                "protocol": self.protocol.key,
                "data_manifest": self.data.manifest,
                "step": self.step,
                "history": self.history,
                "torch": str(torch.__version__),
                "state_dict": {k: v.cpu() for k, v in self.model.state_dict().items()},
                "resume": {
                    "optimizer": self.optimizer.state_dict(),
                    "schedule": self.schedule.state_dict(),
                    "scaler": self.scaler.state_dict(),
                    "sampler": self.sampler.generator.get_state(),
                },
            },
        )
        self.saved_step = self.step

    def fail(self, what: str, step: int) -> None:
        """Stop: `what` became NaN/Inf at `step`; the checkpoint on disk stays as it was."""
        kept = (
            f"the last good checkpoint (step {self.saved_step}) is kept at {self.path}"
            if self.saved_step
            else "no checkpoint was written yet"
        )
        raise ModelError(
            f"training stopped: {what} became NaN or Inf at step {step}; {kept}",
            hint="lower --learning-rate, check the loss weights, or try another --seed",
        )

    def one_step(self) -> dict[str, float]:
        """Forward, loss, backward and update on one batch; returns the loss values."""
        cfg = self.config
        batch = self.sampler.sample().to(cfg.device)
        with torch.autocast("cuda", dtype=torch.float16, enabled=cfg.amp):
            out = outputs_of(self.model, batch.inputs)
            total, parts = self.loss(out, batch)
        if not torch.isfinite(total):
            self.fail(f"the loss {self.loss.spec!r}", self.step + 1)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.schedule.step()
        self.step += 1
        return {"loss": float(total.detach()), **parts}

    def loop(self, progress: bool) -> TrainResult:
        """Train from the current step to `steps`, saving and validating on schedule.

        The history gets one record per checkpoint or validation: the step, the mean of
        each loss value since the previous record, and the validation PSNR when measured.
        """
        from tqdm import tqdm

        cfg = self.config
        began = time.perf_counter()
        window: list[dict[str, float]] = []
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not progress, unit="step")
        try:
            while self.step < cfg.steps:
                window.append(self.one_step())
                bar.update()
                last = self.step == cfg.steps
                checkpoint = last or self.step % cfg.checkpoint_every == 0
                val = bool(self.data.val) and (
                    last or (bool(cfg.val_every) and self.step % cfg.val_every == 0)
                )
                bar.set_postfix(loss=f"{window[-1]['loss']:.4f}")
                if not (checkpoint or val):
                    continue
                record = {"step": float(self.step)}
                record.update({k: sum(w[k] for w in window) / len(window) for k in window[0]})
                window = []
                if val:
                    record["val_psnr"] = validate(
                        self.model, self.data.val, cfg.scale, self.protocol
                    )
                    bar.set_postfix(loss=f"{record['loss']:.4f}", val=f"{record['val_psnr']:.2f}")
                self.history.append(record)
                if checkpoint:
                    self.save()
        finally:
            bar.close()
        seconds = time.perf_counter() - began
        return TrainResult(self.path, self.step, self.history, seconds, self.start)
