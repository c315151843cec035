"""Shared fixtures: the real datasets and weights (found through environment variables), and
small synthetic images and a tiny DRN-GS so training and sweep tests take seconds."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench import registry


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point SRBENCH_HOME at a fresh folder so tests never read or write the user's cache."""
    home = tmp_path_factory.mktemp("srbench-home")
    before = os.environ.get("SRBENCH_HOME")
    os.environ["SRBENCH_HOME"] = str(home)
    yield home
    if before is None:
        os.environ.pop("SRBENCH_HOME", None)
    else:
        os.environ["SRBENCH_HOME"] = before


def _env_dir(var: str, sub: str = "") -> Path | None:
    value = os.environ.get(var)
    if not value:
        return None
    path = Path(value) / sub
    return path if path.exists() else None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared datasets folder (SRBENCH_DATA_ROOT); skips the test when it is absent."""
    root = _env_dir("SRBENCH_DATA_ROOT")
    if root is None or not (root / "Set5").is_dir():
        pytest.skip("SRBENCH_DATA_ROOT is unset or has no Set5/: set it to ../shared/datasets")
    return root


@pytest.fixture(scope="session")
def weights_root() -> Path:
    """The shared pretrained weights folder (SRBENCH_WEIGHTS_ROOT); skips when absent."""
    root = _env_dir("SRBENCH_WEIGHTS_ROOT")
    if root is None:
        pytest.skip("SRBENCH_WEIGHTS_ROOT is unset or missing: set it to ../shared/weights")
    return root


# DRN-GS small enough to train a few steps in well under a second on 2 CPU cores
TINY_DRN = {"preset": "tiny", "n_blocks": 1, "n_feats": 4}


@pytest.fixture
def tiny_drn() -> dict[str, object]:
    """Constructor options of a DRN-GS small enough for tests."""
    return dict(TINY_DRN)


def write_images(folder: Path, sizes: list[tuple[int, int]], *, seed: int = 0) -> Path:
    """Smooth random colour images (so bicubic LR is meaningful) of the given (h, w) sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, (h, w) in enumerate(sizes):
        coarse = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((w, h), Image.BILINEAR)
        img.save(folder / f"img{i:02d}.png")
    return folder


@pytest.fixture
def train_folder(tmp_path: Path) -> Path:
    """Five 40×36 colour images."""
    return write_images(tmp_path / "hr", [(40, 36)] * 5)


@pytest.fixture
def make_images() -> Callable[..., Path]:
    """`write_images` for tests that need their own sizes."""
    return write_images


@pytest.fixture
def crashy_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plugin file whose model `exec-test-crashy` (nearest upscaling) kills its process on
    the first forward of all, as an OOM kill or a preempted node would; each forward adds an
    `x` to `tmp_path / "crashy.attempts"`, so a test can tell the retry happened. What the
    test registers and loads is forgotten after it, so that the next one can load its own."""
    monkeypatch.setattr(registry.models, "_entries", dict(registry.models._entries))
    monkeypatch.setattr(registry, "_loaded_plugins", list(registry._loaded_plugins))
    path = tmp_path / "crashy_plugin.py"
    marker = tmp_path / "crashy.attempts"
    path.write_text(
        textwrap.dedent(
            f'''
            import os
            from pathlib import Path

            import torch.nn.functional as F
            from torch import nn

            from srbench.registry import register_model


            @register_model("exec-test-crashy")
            class Crashy(nn.Module):
                """Nearest upscaling; the first forward of all kills its worker process."""

                def __init__(self, *, scale):
                    super().__init__()
                    self.scale = scale

                def forward(self, x):
                    marker = Path({str(marker)!r})
                    try:  # exclusive create, then appends: workers run forwards concurrently
                        fd, first = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY), True
                    except FileExistsError:
                        fd, first = os.open(marker, os.O_WRONLY | os.O_APPEND), False
                    os.write(fd, b"x")
                    os.close(fd)
                    if first:
                        os._exit(9)
                    return F.interpolate(x, scale_factor=self.scale, mode="nearest")
            '''
        )
    )
    return path
