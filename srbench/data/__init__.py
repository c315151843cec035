"""Getting images in: decoding, the test sets and their layouts, manifests, downloads.

The names below are imported on first use (PEP 562), so that importing `srbench.data.sets`
or `srbench.data.io` does not import torch through the manifest module.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "datasets_cache_dir": "download",
    "fetch_dataset": "download",
    "decode_image": "io",
    "read_image": "io",
    "sha256_file": "io",
    "ImageCheck": "manifest",
    "VerifyReport": "manifest",
    "verify": "manifest",
    "write_manifest": "manifest",
    "B100": "sets",
    "SAMPLES": "sets",
    "SET5": "sets",
    "SET14": "sets",
    "URBAN100": "sets",
    "DatasetSpec": "sets",
    "ImageRef": "sets",
    "resolve_data_root": "sets",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
