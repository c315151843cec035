"""The `srbench` executable (`python -m srbench`, the console script) runs the click group."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

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


_EXIT_PLUGIN = """
import atexit, threading, time
from pathlib import Path

def _later():
    time.sleep(0.5)
    Path({thread!r}).write_text("done")

@atexit.register
def _handler():
    Path({handler!r}).write_text("ran")
    print("exit handler ran")  # after the command's last output, buffered in a pipe

if {with_thread!r}:
    threading.Thread(target=_later).start()  # not a daemon: the process must wait for it
print("plugin loaded")
"""


@pytest.mark.parametrize("with_thread", [False, True])
def test_the_executable_ends_with_exit_handlers_run_threads_joined_and_output_out(
    tmp_path: Path, with_thread: bool
) -> None:
    # `entry` ends the process without the interpreter's teardown (`_exit`), unless a
    # non-daemon thread still runs: then the normal exit, which waits for it
    plugin = tmp_path / "exits.py"
    files = {name: tmp_path / name for name in ("handler", "thread")}
    plugin.write_text(
        _EXIT_PLUGIN.format(with_thread=with_thread, **{k: str(v) for k, v in files.items()})
    )
    command = [sys.executable, "-m", "srbench", "--plugin", str(plugin)]
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [*command, "list", "models"], capture_output=True, text=True, env=buffered
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("plugin loaded") and "bicubic" in done.stdout
    assert done.stdout.endswith("exit handler ran\n")
    assert files["handler"].read_text() == "ran"
    assert files["thread"].exists() == with_thread
    files["handler"].unlink()
    command += ["run", "--models", "bicubic", "--scales", "0"]
    done = subprocess.run(command, capture_output=True, text=True, env=buffered)
    assert done.returncode == 2 and "--scales" in done.stderr
    assert files["handler"].read_text() == "ran"
