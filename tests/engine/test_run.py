"""The runner: stores per-image rows, reuses them, and survives bad images and bad models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from srbench import register_model
from srbench.engine.run import RunConfig, run
from srbench.errors import UnknownNameError
from srbench.store.sqlite import STORE_FILE, Store

# The synthetic sets are smaller than the real ones on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Set5 has .* images, expected 5")


def _make_set(root: Path, sizes: dict[str, tuple[int, int]], name: str = "Set5") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for image_id, (h, w) in sizes.items():
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{image_id}.png")
    return root


@register_model("test-raises")
class Raises(nn.Module):
    """Always raises."""

    def __init__(self, *, scale: int) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        raise RuntimeError("model exploded")


@register_model("test-wrong-size")
class WrongSize(nn.Module):
    """Returns the input unchanged (wrong size)."""

    def __init__(self, *, scale: int) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


@register_model("test-nan")
class ReturnsNaN(nn.Module):
    """Returns NaN of the right size."""

    def __init__(self, *, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return torch.full((*x.shape[:2], x.shape[2] * self.scale, x.shape[3] * self.scale), np.nan)


def _config(
    root: Path, out: Path, models: tuple[str, ...] = ("bicubic",), **kw: object
) -> RunConfig:
    return RunConfig(
        models=models, datasets=("set5",), scales=(2, 3), out=out, data_root=root, **kw
    )  # type: ignore[arg-type]


def test_rows_are_stored_and_a_rerun_reuses_them(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {"a": (24, 30), "b": (31, 35)})
    summary = run(_config(root, tmp_path / "out"))
    assert summary.ok and summary.computed == 4 and summary.reused == 0
    rows = Store(tmp_path / "out").results()
    assert len(rows) == 8 and set(rows["status"]) == {"ok"}
    assert set(rows["protocol"]) == {"paper"} and set(rows["dataset"]) == {"Set5"}
    again = run(_config(root, tmp_path / "out"))
    assert again.computed == 0 and again.reused == 4
    forced = run(_config(root, tmp_path / "out", force=True))
    assert forced.computed == 4
    rows = Store(tmp_path / "out").results()
    assert len(rows) == 16 and rows["run_id"].nunique() == 2  # each run keeps its own rows


def test_bad_image_is_recorded_and_the_others_are_scored(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {"a": (24, 30), "b": (20, 20)})
    good = (root / "Set5" / "b.png").read_bytes()
    (root / "Set5" / "b.png").write_bytes(good[: len(good) // 2])
    summary = run(_config(root, tmp_path / "out"))
    assert not summary.ok and summary.computed == 2
    assert any("b.png" in f for f in summary.failures)
    rows = Store(tmp_path / "out").results()
    assert set(rows[rows["image_id"] == "a"]["status"]) == {"ok"}
    assert set(rows[rows["image_id"] == "b"]["status"]) == {"failed"}


def test_image_too_small_for_the_scale_fails_only_that_image(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {"a": (24, 30), "tiny": (5, 5)})
    summary = run(_config(root, tmp_path / "out"))
    # 5x5 modcrops to 4x4 at x2 (shave 2 leaves nothing) and 3x3 at x3: both refused.
    assert len([f for f in summary.failures if "tiny" in f and "too small for scale" in f]) == 2
    assert summary.computed == 2


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("test-raises", "model exploded"),
        ("test-wrong-size", "returned shape"),
        ("test-nan", "NaN or Inf"),
    ],
)
def test_a_crashing_model_loses_no_other_results(tmp_path: Path, model: str, message: str) -> None:
    root = _make_set(tmp_path / "data", {"a": (24, 30)})
    summary = run(_config(root, tmp_path / "out", models=(model, "bicubic")))
    assert len(summary.failures) == 2 and all(message in f for f in summary.failures)
    rows = Store(tmp_path / "out").results()
    assert set(rows[rows["model"] == "bicubic"]["status"]) == {"ok"}
    assert set(rows[rows["model"] == model]["status"]) == {"failed"}


def test_unknown_names_fail_before_any_work(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {"a": (24, 30)})
    with pytest.raises(UnknownNameError, match=r"no model named 'bicubc'.*'bicubic'"):
        run(_config(root, tmp_path / "out", models=("bicubc",)))
    assert not (tmp_path / "out" / STORE_FILE).exists()


SLOW_RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from torch import nn
    from srbench import register_model
    from srbench.engine.run import RunConfig, run
    from srbench.models.bicubic import Bicubic

    @register_model("test-slow")
    class Slow(Bicubic):
        '''Bicubic, slowly.'''
        def forward(self, x):
            time.sleep(0.4)
            return super().forward(x)

    run(RunConfig(models=("test-slow",), datasets=("set5",), scales=(2,),
                  out=Path(sys.argv[2]), data_root=Path(sys.argv[1])))
""")


def test_kill_9_loses_at_most_the_image_in_flight(tmp_path: Path) -> None:
    root = _make_set(tmp_path / "data", {f"i{k}": (24, 24) for k in range(12)})
    script = tmp_path / "slow.py"
    script.write_text(SLOW_RUN)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(script), str(root), str(out)])
    deadline = time.time() + 60
    while time.time() < deadline:
        if (out / STORE_FILE).exists() and len(Store(out).results()) >= 6:
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rows = Store(out).results()
    per_image = rows.groupby("image_id")["metric"].apply(sorted)
    assert 3 <= len(per_image) < 12
    assert all(metrics == ["psnr", "ssim"] for metrics in per_image)


def test_an_unavailable_metric_is_skipped_and_the_others_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "empty-home"))
    root = _make_set(tmp_path / "data", {"a": (24, 30)})
    summary = run(_config(root, tmp_path / "out", metrics=("psnr", "ssim", "lpips")))
    assert summary.ok
    rows = Store(tmp_path / "out").results()
    lp = rows[rows["metric"] == "lpips"]
    assert set(lp["status"]) == {"skipped"} and lp["error"].str.contains("weights import").all()
    assert set(rows[rows["metric"] != "lpips"]["status"]) == {"ok"}


def test_flops_are_counted_beside_the_run_and_a_failed_count_costs_no_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from srbench.engine import run as run_module
    from srbench.models import build_model

    root = _make_set(tmp_path / "data", {"a": (24, 30)})
    threads: list[str] = []
    real = run_module.complexity_row

    def counting(built, scale):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real(built, scale)

    monkeypatch.setattr(run_module, "complexity_row", counting)
    assert run(_config(root, tmp_path / "out")).ok
    assert len(threads) == 2 and all(t.startswith("srbench-cost") for t in threads)
    stored = Store(tmp_path / "out").table("complexity").sort_values("scale")
    for scale, macs in zip((2, 3), stored["macs"], strict=True):
        assert macs == real(build_model("bicubic", scale=scale), scale)["macs"]

    def failing(built, scale):  # type: ignore[no-untyped-def]
        raise RuntimeError("counter broke")

    monkeypatch.setattr(run_module, "complexity_row", failing)
    summary = run(_config(root, tmp_path / "again"))
    assert summary.ok and summary.computed == 2
    assert "could not profile bicubic x2: counter broke" in capsys.readouterr().err
    assert len(Store(tmp_path / "again").results()) == 4
    assert Store(tmp_path / "again").table("complexity").empty


def test_every_failure_the_run_counts_is_said_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 12x12 at x2: PSNR is scored, SSIM's 11x11 window does not fit the 8x8 left after the
    # shave, so one metric fails while the image's other rows are stored
    root = _make_set(tmp_path / "data", {"a": (24, 30), "small": (12, 12)})
    config = RunConfig(
        models=("bicubic",), datasets=("set5",), scales=(2,), out=tmp_path / "out", data_root=root
    )
    summary = run(config)
    err = capsys.readouterr().err
    assert summary.failures and all(f"srbench: failed {f}" in err for f in summary.failures)
    assert any("small x2 ssim" in f for f in summary.failures)
