"""Reading checkpoints into srbench's modules: safe state-dict loading, importers, fit checks.

Every load goes through the cache's digest checks. A `state_dict` file loads with
`torch.load(weights_only=True)`; other formats are converted once by `install` (called by
`srbench weights import` and `fetch`) and the converted state dict is what loads afterwards.
The baselines use the module names of the official code, so official keys load unchanged.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from srbench import __version__
from srbench.errors import WeightsError
from srbench.weights.cache import cache_path, check_digest, record_path, verify_cached
from srbench.weights.schema import Format, Weights
from srbench.weights.unpickle import read_pickled_checkpoint

__all__ = [
    "convert",
    "install",
    "load_checkpoint",
    "load_into",
    "load_state_dict_file",
    "read_srcnn_mat",
    "sniff_format",
]

MAT_HEADER = b"MATLAB 5.0 MAT-file"
_LISTED = 6  # mismatching keys shown per kind before "... and N more"


def load_state_dict_file(path: Path) -> dict[str, Tensor]:
    """A `{name: tensor}` file read with `torch.load(weights_only=True)`, on the CPU.

    Raises:
        WeightsError: the file is truncated or corrupt, is a pickled model object or another
            format (the text says how to convert it), or holds something else than tensors.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f"it pickles {found.group(1)}" if found else "weights_only loading refused it"
        raise WeightsError(
            f"{path} is not a plain state dict ({what}): it is a pickled model object or "
            "another format, which srbench never loads by running its code",
            hint="convert it once with `srbench weights import FILE` (a restricted reader "
            "that takes only the tensors); srbench then loads the converted state dict",
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise WeightsError(
            f"cannot read {path}: {str(exc).splitlines()[0]}",
            hint="the file is truncated or corrupt: download or import it again",
        ) from exc
    if isinstance(state, Mapping) and state and all(isinstance(v, Tensor) for v in state.values()):
        return {str(k): v for k, v in state.items()}
    kinds = sorted({type(v).__name__ for v in state.values()}) if isinstance(state, Mapping) else []
    raise WeightsError(
        f"{path} holds a {type(state).__name__}"
        + (f" of {', '.join(kinds)}" if kinds else "")
        + ", not a {name: tensor} state dict",
        hint="save `model.state_dict()` alone, or convert the file with `srbench weights import`",
    )


def read_srcnn_mat(path: Path) -> dict[str, Tensor]:
    """SRCNN release `.mat` weights as `conv{1,2,3}.{weight,bias}` float32 OIHW tensors.

    MATLAB stores column-major: a k×k filter is a k*k column read back with Fortran order.
    `imfilter` and `conv2d` both correlate, so no flip is needed.
    """
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
        w1, w2, w3 = (mat[f"weights_conv{i}"] for i in (1, 2, 3))
        b1, b2, b3 = (mat[f"biases_conv{i}"] for i in (1, 2, 3))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(
            f"cannot read {path} as SRCNN .mat weights: {exc}",
            hint="the file is truncated, corrupt or not an SRCNN release file",
        ) from exc
    k1, k2, k3 = (math.isqrt(n) for n in (w1.shape[0], w2.shape[1], w3.shape[1]))
    n1, n2 = w1.shape[1], w2.shape[2]
    weights = {
        "conv1": w1.reshape(k1, k1, 1, n1, order="F").transpose(3, 2, 0, 1),
        "conv2": w2.reshape(n1, k2, k2, n2, order="F").transpose(3, 0, 1, 2),
        "conv3": w3.reshape(n2, k3, k3, 1, order="F").transpose(3, 0, 1, 2),
    }
    biases = {"conv1": b1, "conv2": b2, "conv3": b3}
    state: dict[str, Tensor] = {}
    for name in ("conv1", "conv2", "conv3"):
        state[f"{name}.weight"] = torch.from_numpy(weights[name].astype("float32").copy())
        state[f"{name}.bias"] = torch.from_numpy(biases[name].reshape(-1).astype("float32"))
    return state


def sniff_format(path: Path) -> Format:
    """`srcnn_mat` for a MATLAB file, else `torch_pickle` (which also reads plain state dicts)."""
    with Path(path).open("rb") as fh:
        return "srcnn_mat" if fh.read(len(MAT_HEADER)) == MAT_HEADER else "torch_pickle"


def convert(path: Path, fmt: Format, *, allow_classes: Iterable[str] = ()) -> dict[str, Tensor]:
    """Read a checkpoint of format `fmt` into a state dict without running code from it."""
    if fmt == "srcnn_mat":
        return read_srcnn_mat(path)
    if fmt == "torch_pickle":
        return read_pickled_checkpoint(path, allow_classes=allow_classes)
    return load_state_dict_file(path)


def _listing(items: list[str]) -> str:
    more = f", ... and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
    return ", ".join(items[:_LISTED]) + more


def load_into(module: nn.Module, state: Mapping[str, Tensor], *, what: str) -> None:
    """Load `state` into `module` after checking that every key and shape fits.

    Raises:
        WeightsError: naming the missing and unexpected keys and the mismatching shapes.
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} (model {tuple(own[k].shape)})"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    problems = [
        f"{label}: {_listing(items)}"
        for label, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatches", shapes),
        )
        if items
    ]
    if problems:
        raise WeightsError(
            f"{what}: the checkpoint does not fit the model; " + "; ".join(problems),
            hint="is it a checkpoint for another scale or architecture? "
            "See `srbench weights list` for the checkpoints of each model",
        )
    module.load_state_dict(state)


def install(
    model: str, weights: Weights, source: Path, *, allow_classes: Iterable[str] = ()
) -> Path:
    """Check `source` against `weights`' digest, then store it (converted if needed) in the cache.

    Returns the cached path; the write is atomic, so an interrupted import leaves no file.
    """
    what = f"weights {model}.{weights.tag} x{weights.scale}"
    source_sha = check_digest(source, weights, what=what)
    dest = cache_path(model, weights)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    if weights.format == "state_dict":
        load_state_dict_file(source)
        shutil.copyfile(source, partial)
        os.replace(partial, dest)
        return dest
    torch.save(convert(source, weights.format, allow_classes=allow_classes), partial)
    from srbench.data.io import sha256_file

    record = {
        "source_sha256": source_sha,
        "sha256": sha256_file(partial),
        "format": weights.format,
        "source_name": Path(source).name,
        "converted_by": f"srbench {__version__}, torch {torch.__version__}",
    }
    record_path(dest).write_text(json.dumps(record, indent=2) + "\n")
    os.replace(partial, dest)
    return dest


def load_checkpoint(model: str, weights: Weights) -> tuple[dict[str, Tensor], str]:
    """The cached state dict of `weights` and its source file's SHA-256, digests checked."""
    path, source_sha = verify_cached(model, weights)
    return load_state_dict_file(path), source_sha
