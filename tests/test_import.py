"""Importing srbench is cheap and offline: no torch, no models, no optional dependencies."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light() -> None:
    heavy = ("torch", "lpips", "pyiqa", "piq", "baselines", "pandas", "skimage", "scipy")
    code = f"import srbench, sys; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "[]"


def test_public_api() -> None:
    import srbench

    for name in (
        "register_model",
        "register_metric",
        "register_dataset",
        "register_loss",
        "ModelIO",
        "MetricSpec",
        "load_plugin",
        "__version__",
    ):
        assert name in srbench.__all__ and hasattr(srbench, name)
