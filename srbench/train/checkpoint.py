"""The checkpoint format `srbench train` writes, and loading a trained model from it.

One file holds everything: the model's name, scale and constructor options, the full
training config, the protocol key, the training-data manifest (image ids and SHA-256), the
step, the model/optimizer/scheduler/sampler states and the history. It contains only
tensors and plain containers, so it loads with `torch.load(weights_only=True)`: no pickled
code runs. Writes go to a temporary file that replaces the old one, so an interrupted
write never leaves a broken checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from srbench.data.io import sha256_file
from srbench.errors import ConfigError, WeightsError
from srbench.models import supported_scales
from srbench.registry import models
from srbench.train.options import bind
from srbench.weights import load_into

__all__ = [
    "FORMAT",
    "build_trainable",
    "load_trained",
    "read_checkpoint",
    "register_trained",
    "write_checkpoint",
    "write_plugin",
]

FORMAT = "srbench-checkpoint/1"


def build_trainable(name: str, scale: int, options: Mapping[str, Any]) -> nn.Module:
    """Registered model `name` at `scale` with constructor `options` (typed, checked)."""
    cls = models.get(name)
    scales = supported_scales(cls)
    if scales is not None and scale not in scales:
        raise ConfigError(
            f"model {name!r} supports scales {list(scales)}, not {scale}",
            hint=f"use --scale {scales[0]}",
        )
    kwargs = bind(cls, options, f"model {name!r}")
    try:
        return cls(scale=scale, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model {name!r} at x{scale} with {dict(options)}: {exc}") from exc


def write_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Atomically write `payload` (plain containers and tensors only) to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **payload}, tmp)
    tmp.replace(path)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint written by `srbench train`, with `weights_only=True`."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no checkpoint at {path}", hint="give the file `srbench train` wrote")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, not a torch file, or holding pickled code
        raise WeightsError(
            f"cannot read checkpoint {path}: {str(exc).splitlines()[0]}",
            hint="it is corrupt or not a checkpoint written by `srbench train`",
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise WeightsError(
            f"{path} is not an srbench training checkpoint (format {found!r}, need {FORMAT!r})",
            hint="official checkpoints are imported with `srbench weights import`",
        )
    return payload


def load_trained(path: Path, *, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The trained model of a checkpoint in eval mode, and the checkpoint's metadata.

    The metadata carries `model`, `scale`, `model_options`, `config`, `protocol`, `step`,
    `data_manifest` and `sha256` (of the file), the identity results are stored under.
    """
    payload = read_checkpoint(path)
    model = build_trainable(payload["model"], payload["scale"], payload["model_options"])
    load_into(model, payload["state_dict"], what=f"checkpoint {path}")
    meta = {k: v for k, v in payload.items() if k not in ("state_dict", "resume")}
    meta["sha256"] = sha256_file(path)
    return model.eval().to(device), meta


def register_trained(path: Path, name: str | None = None) -> str:
    """Register a training checkpoint as a model the runner can evaluate; returns its name.

    The model is a subclass of the trained one whose constructor loads the checkpoint, so
    `srbench.engine.run.run` scores it like any other. Its name defaults to
    `<model>-<first 8 hex of the file's SHA-256>`, so results of different checkpoints never
    share a store key; registering the same file again is a no-op.
    """
    payload = read_checkpoint(path)
    sha = sha256_file(path)
    base = models.get(payload["model"])
    kwargs = bind(base, payload["model_options"], f"model {payload['model']!r}")
    state = payload["state_dict"]
    step, loss = payload["step"], payload["config"]["loss"]

    def __init__(self: nn.Module, *, scale: int) -> None:
        base.__init__(self, scale=scale, **kwargs)
        load_into(self, state, what=f"checkpoint {path}")

    trained = type(
        base.__name__,
        (base,),
        {
            "__init__": __init__,
            "__module__": base.__module__,
            "__qualname__": f"{base.__qualname__}[{sha[:12]}]",
            "__doc__": f"{payload['model']} trained by srbench ({loss}, {step} steps): {path}",
            "scales": (payload["scale"],),
            "weights": None,
        },
    )
    name = name or f"{payload['model']}-{sha[:8]}"
    models.register(name, trained)
    return name


_PLUGIN = '''"""srbench plugin written by `srbench train`: registers ./{checkpoint} as a model.

Its name is <model>-<first 8 hex of the checkpoint's SHA-256>; see it with
    srbench --plugin {plugin} list models
and evaluate it with
    srbench --plugin {plugin} run --models NAME --scales SCALE
"""

from pathlib import Path

from srbench.train.checkpoint import register_trained

NAME = register_trained(Path(__file__).with_name("{checkpoint}"))
'''


def write_plugin(checkpoint: Path) -> Path:
    """Write `model.py` beside `checkpoint`: a `--plugin` file registering it for `srbench run`."""
    plugin = checkpoint.with_name("model.py")
    plugin.write_text(_PLUGIN.format(checkpoint=checkpoint.name, plugin=plugin))
    return plugin
