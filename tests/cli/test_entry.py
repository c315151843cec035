"""The `srbench` executable (`python -m srbench`, the console script) runs the click group."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from srbench.cli import heavy_imports


def test_python_m_srbench_runs_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "srbench", "list", "models"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "bicubic" in done.stdout


def test_python_m_srbench_keeps_exit_codes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "srbench", "run", "--models", "bicubic", "--scales", "0"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "--scales" in done.stderr


_COUNT_FULL_COLLECTIONS = """
import atexit, gc, sys
full = []
gc.callbacks.append(lambda p, i: p == "stop" and i["generation"] == 2 and full.append(0))
atexit.register(lambda: print("full collections:", len(full)))
sys.argv = ["srbench", *sys.argv[1:]]
from srbench.cli import entry
entry()
"""


def test_the_executable_collects_nothing_while_it_imports_torch(tmp_path: Path) -> None:
    # Without heavy_imports, importing the engine ran 5 full collections over torch's objects.
    command = ["-q", "run", "--models", "bicubic", "--datasets", "samples", "--scales", "4"]
    command += ["--timing", "off", "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_FULL_COLLECTIONS, *command],
        capture_output=True,
        text=True,
        env={**os.environ, "SRBENCH_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split("full collections:")[1]) <= 1


def test_a_host_process_keeps_its_own_collector() -> None:
    frozen = gc.get_freeze_count()
    with heavy_imports():
        assert gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_a_short_set_is_warned_about_once(tmp_path: Path, make_images: Callable[..., Path]) -> None:
    # The early feed lists the sets before torch is imported, and the run lists them again.
    make_images(tmp_path / "data" / "Set5", [(40, 36)] * 2)
    command = ["run", "--models", "bicubic", "--datasets", "Set5", "--scales", "2,4"]
    command += ["--timing", "off", "--data-root", str(tmp_path / "data")]
    done = subprocess.run(
        [sys.executable, "-m", "srbench", *command, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={**os.environ, "SRBENCH_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("Set5 has 2 images, expected 5") == 1
