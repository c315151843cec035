"""What one `srbench run` is asked to do: `RunConfig` and the values its options take.

Kept free of torch so that the CLI can read a run's options before importing the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["MODEL_DTYPES", "TIMING_MODES", "RunConfig", "TimingMode"]

TimingMode = Literal["off", "quick", "full"]
TIMING_MODES: tuple[str, ...] = ("off", "quick", "full")
MODEL_DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """Everything one `srbench run` needs, fully resolved (stored with the run)."""

    models: tuple[str, ...]
    datasets: tuple[str, ...]
    scales: tuple[int, ...]
    out: Path
    metrics: tuple[str, ...] = ("psnr", "ssim")
    data_root: Path | None = None
    protocol: str = "paper"
    device: str = "cpu"
    force: bool = False
    weights: tuple[str, ...] = ()  # `model.tag` choices; other models load their default
    tile: int | None = None  # run models on overlapping tiles of this many LR pixels
    tile_overlap: int = 16
    timing: TimingMode = "quick"  # latency per (model, scale): off, quick or full
    workers: int | None = None  # loading and scoring threads; None: the cores, 0: none
    batch: int = 1  # consecutive images of equal size per forward (useful on CUDA)
    dtype: str | None = None  # float32/float16/bfloat16 for models with parameters
