"""The `srbench` executable (`python -m srbench`, the console script) runs the click group."""

from __future__ import annotations

import subprocess
import sys


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
