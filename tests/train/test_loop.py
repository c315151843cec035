"""The training loop: checkpoints, exact resume, refused resumes, NaN stops, plain models."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from srbench.errors import ConfigError, ModelError
from srbench.models import build_model
from srbench.registry import register_loss, register_model
from srbench.train import loop
from srbench.train.checkpoint import load_trained, read_checkpoint, register_trained
from srbench.train.loop import TrainConfig, train
from srbench.train.losses import LossTerm

TINY_DRN = {"preset": "tiny", "n_blocks": 1, "n_feats": 4}


@register_model("test-espcn")
class EspcnPlain(nn.Module):
    """A plain model without `train_outputs`: trains through `forward`."""

    def __init__(self, *, scale: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 3 * scale**2, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, lr: Tensor) -> Tensor:
        return self.body(lr)


@register_loss("test-nan")
class NanAfter(LossTerm):
    """A loss that turns NaN after `after` calls."""

    def __init__(self, *, after: int = 2) -> None:
        self.after = after
        self.calls = 0

    def __call__(self, out, batch) -> Tensor:  # type: ignore[no-untyped-def]
        self.calls += 1
        return out["sr"].sum() * (float("nan") if self.calls > self.after else 0.0)


def _config(data: Path, out: Path, **changes: object) -> TrainConfig:
    base = TrainConfig(
        model="drn-gs",
        scale=2,
        data=data,
        out=out,
        loss="gs+dual",
        model_options=dict(TINY_DRN),
        steps=6,
        batch_size=2,
        patch_size=16,
        val_images=1,
        checkpoint_every=3,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_checkpoint_holds_config_protocol_manifest_and_weights(
    train_folder: Path, tmp_path: Path
) -> None:
    result = train(_config(train_folder, tmp_path / "run"))
    assert result.step == 6 and result.checkpoint == tmp_path / "run" / "checkpoint.pt"
    payload = read_checkpoint(result.checkpoint)  # torch.load(weights_only=True) inside
    assert payload["model"] == "drn-gs" and payload["scale"] == 2 and payload["step"] == 6
    assert payload["config"]["loss"] == "gs+dual" and payload["protocol"] == "paper@1"
    assert len(payload["data_manifest"]["images"]) == 5
    assert [h["step"] for h in payload["history"]] == [3.0, 6.0]
    assert "val_psnr" in payload["history"][-1] and "dual" in payload["history"][-1]
    model, meta = load_trained(result.checkpoint)
    assert meta["sha256"] and not model.training
    name = register_trained(result.checkpoint)
    assert name == f"drn-gs-{meta['sha256'][:8]}" and register_trained(result.checkpoint) == name
    built = build_model(name, scale=2)
    lr = torch.rand(1, 3, 6, 6) * 255
    with torch.no_grad():
        torch.testing.assert_close(built.module(lr), model(lr))


def test_resume_after_an_interruption_gives_the_same_weights(
    train_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight = train(_config(train_folder, tmp_path / "a"))
    one_step = loop._Run.one_step

    def interrupted(self: loop._Run) -> dict[str, float]:
        if self.step == 3:
            raise KeyboardInterrupt
        return one_step(self)

    monkeypatch.setattr(loop._Run, "one_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(_config(train_folder, tmp_path / "b"))
    assert read_checkpoint(tmp_path / "b" / "checkpoint.pt")["step"] == 3
    monkeypatch.setattr(loop._Run, "one_step", one_step)
    resumed = train(_config(train_folder, tmp_path / "b"), resume=True)
    assert resumed.resumed_from == 3 and resumed.step == 6
    a = read_checkpoint(straight.checkpoint)["state_dict"]
    b = read_checkpoint(resumed.checkpoint)["state_dict"]
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_existing_checkpoint_needs_resume(train_folder: Path, tmp_path: Path) -> None:
    train(_config(train_folder, tmp_path / "run", steps=1))
    with pytest.raises(ConfigError, match="already exists") as info:
        train(_config(train_folder, tmp_path / "run", steps=1))
    assert "--resume" in info.value.hint
    again = train(_config(train_folder, tmp_path / "run", steps=1), resume=True)
    assert again.step == 1 and again.resumed_from == 1


def test_resume_of_another_model_or_config_is_refused(
    train_folder: Path, tmp_path: Path, make_images
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    train(_config(train_folder, out, steps=1))
    other_model = _config(train_folder, out, steps=1, model="spnet", loss="l1", model_options={})
    with pytest.raises(ConfigError, match=r"model: 'drn-gs' there, 'spnet' now") as info:
        train(other_model, resume=True)
    assert "loss: 'gs+dual' there, 'l1' now" in str(info.value)
    with pytest.raises(ConfigError, match=r"learning_rate: 0\.0001 there, 0\.001 now"):
        train(_config(train_folder, out, steps=1, learning_rate=1e-3), resume=True)
    other_data = make_images(tmp_path / "other", [(40, 36)] * 5, seed=9)
    with pytest.raises(ConfigError, match="the training images differ"):
        train(_config(other_data, out, steps=1), resume=True)


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(
    train_folder: Path, tmp_path: Path
) -> None:
    config = _config(
        train_folder, tmp_path / "run", loss="l1+test-nan[after=2]", checkpoint_every=1
    )
    with pytest.raises(ModelError, match=r"became NaN or Inf at step 3; the last good checkpoint"):
        train(config)
    payload = read_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert payload["step"] == 2
    assert all(torch.isfinite(v).all() for v in payload["state_dict"].values())


def test_plain_models_train_through_forward(train_folder: Path, tmp_path: Path) -> None:
    config = _config(
        train_folder, tmp_path / "run", model="test-espcn", loss="l1+mse", model_options={}
    )
    result = train(config)
    assert result.step == 6 and torch.isfinite(torch.tensor(result.history[-1]["loss"]))


def test_loss_terms_the_model_cannot_feed_fail_before_reading_data(tmp_path: Path) -> None:
    config = _config(
        tmp_path / "missing", tmp_path / "run", model="test-espcn", loss="l1+dual", model_options={}
    )
    with pytest.raises(ConfigError, match=r"'dual' needs the model output\(s\) dual"):
        train(config)


def test_bad_settings(train_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--amp needs a CUDA device"):
        train(_config(train_folder, tmp_path / "run", amp=True))
    with pytest.raises(ConfigError, match="--steps must be at least 1"):
        train(_config(train_folder, tmp_path / "run", steps=0))
    with pytest.raises(ConfigError, match="supports scales"):
        train(_config(train_folder, tmp_path / "run", scale=5))


def test_killed_process_resumes(train_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [sys.executable, "-m", "srbench", "-q", "train", "--model", "drn-gs"]
    args += [f"--option={k}={v}" for k, v in TINY_DRN.items()]
    args += ["--scale", "2", "--loss", "gs+dual", "--steps", "40", "--batch-size", "2"]
    args += ["--patch-size", "16", "--val-images", "1", "--checkpoint-every", "1"]
    args += ["--data", str(train_folder), "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (out / "checkpoint.pt").exists():
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    killed_at = read_checkpoint(out / "checkpoint.pt")["step"]
    assert 1 <= killed_at < 40
    config = _config(train_folder, out, steps=40, checkpoint_every=1)
    result = train(config, resume=True)
    assert result.resumed_from == killed_at and result.step == 40
    steps = [h["step"] for h in read_checkpoint(out / "checkpoint.pt")["history"]]
    assert steps == [float(s) for s in range(1, 41)]
