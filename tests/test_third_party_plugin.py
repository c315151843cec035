"""A third-party package found only through its entry point is listed and runs end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

PLUGIN = textwrap.dedent('''
    """A third-party SR plugin that srbench has never heard of."""
    from torch import nn


    class TinyShuffle(nn.Module):
        """Third-party sub-pixel conv, zero-initialised to nearest upscaling."""

        def __init__(self, *, scale):
            super().__init__()
            self.scale = scale
            self.conv = nn.Conv2d(3, 3 * scale * scale, 1)
            self.shuffle = nn.PixelShuffle(scale)

        def forward(self, x):
            return self.shuffle(self.conv(x) * 0 + x.repeat_interleave(self.scale ** 2, 1))
''')


def _install(site: Path) -> None:
    """Lay the plugin out as pip would: the module plus a dist-info with entry points."""
    (site / "tiny_sr_plugin.py").write_text(PLUGIN)
    info = site / "tiny_sr-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-sr\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(
        "[srbench.models]\ntiny-shuffle = tiny_sr_plugin:TinyShuffle\n"
    )


def _srbench(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    return subprocess.run(
        [sys.executable, "-m", "srbench", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )


def test_installed_plugin_is_listed_and_runs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install(site)
    listing = _srbench(site, "list", "models")
    assert listing.returncode == 0, listing.stderr
    line = next(x for x in listing.stdout.splitlines() if x.startswith("tiny-shuffle"))
    assert "tiny-sr 0.3 (entry point)" in line and "zero-initialised" in line

    data = tmp_path / "data" / "Set14"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)).save(data / "x.png")
    out = tmp_path / "out"
    ran = _srbench(
        site,
        "run",
        "--models",
        "tiny-shuffle,bicubic",
        "--datasets",
        "Set14",
        "--scales",
        "2",
        "--data-root",
        str(tmp_path / "data"),
        "--out",
        str(out),
    )
    assert ran.returncode == 0, ran.stderr
    report = _srbench(site, "report", "--out", str(out), "--format", "csv")
    rows = {line.split(",")[0]: line for line in report.stdout.splitlines()[1:]}
    assert set(rows) == {"tiny-shuffle", "bicubic"}
