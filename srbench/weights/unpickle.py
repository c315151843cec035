"""Read the tensors of a pickled torch checkpoint without running any of the pickle's code.

Old checkpoints (the public VDSR and SPNet files) pickle whole model objects, which
`torch.load(weights_only=True)` refuses and `weights_only=False` would load by importing and
running the author's classes. This reader resolves every global the pickle names to an inert
stand-in from a fixed allow-list (tensor rebuild functions, storage types, `OrderedDict`, and
module classes that only record their pickled state); anything else is refused. It reads both
torch serialisations:

- legacy (before torch 1.6): pickled magic number, protocol version 1001, sys_info, then the
  object (storages as persistent ids), the list of storage keys, and for each key an int64
  element count followed by the raw little-endian bytes;
- zip: `<archive>/data.pkl` plus one raw file per storage under `<archive>/data/`.

The state dict is then collected from the recorded `_parameters`, `_buffers` and `_modules`.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import torch
from torch import Tensor

from srbench.errors import WeightsError

__all__ = ["KNOWN_MODEL_CLASSES", "read_pickled_checkpoint"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
# Model classes of public checkpoints srbench knows; they are recorded, never imported.
KNOWN_MODEL_CLASSES = frozenset(
    {"vdsr.Net", "vdsr.Conv_ReLU_Block", "model_spnet.CNN_spnet", "model_spnet.CNN"}
)
_MODULE_PACKAGES = ("torch.nn.modules.", "torch.nn.parallel.")
_DTYPES = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


@dataclass(frozen=True)
class _StorageType:
    dtype: torch.dtype


@dataclass
class _Root:
    """One storage: its elements arrive after the pickle (legacy) or from its own zip entry."""

    key: str
    dtype: torch.dtype
    numel: int
    data: Tensor | None = None


@dataclass(frozen=True)
class _StorageView:
    root: _Root
    offset: int


@dataclass(frozen=True)
class _TensorRef:
    """A tensor the pickle describes; materialised once the storage bytes are read."""

    storage: _StorageView
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def materialize(self, name: str) -> Tensor:
        data = self.storage.root.data
        start = self.storage.offset + self.offset
        last = start + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True))
        if data is None or (all(self.size) and last >= data.numel()):
            raise WeightsError(f"tensor {name!r} points outside its storage: the file is corrupt")
        return data.as_strided(self.size, self.stride, start).clone()


class _Inert:
    """Stand-in for a pickled class: records constructor arguments and state, runs nothing."""

    qualname: ClassVar[str] = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _TensorWrapper(_Inert):
    """Stand-in for `Parameter` and the old `Variable`: the tensor is the first argument."""


_STAND_INS: dict[str, type[_Inert]] = {}


def _stand_in(qualname: str, base: type[_Inert] = _Inert) -> type[_Inert]:
    if qualname not in _STAND_INS:
        name = qualname.rpartition(".")[2]
        _STAND_INS[qualname] = type(name, (base,), {"qualname": qualname})
    return _STAND_INS[qualname]


def _rebuild_tensor(storage: Any, offset: int, size: Any, stride: Any, *_: Any) -> _TensorRef:
    if not isinstance(storage, _StorageView):
        raise WeightsError("a tensor in the checkpoint has no storage: the file is corrupt")
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    return data


_SAFE_GLOBALS: dict[str, Any] = {
    "collections.OrderedDict": OrderedDict,
    "builtins.set": set,
    "__builtin__.set": set,
    "torch._utils._rebuild_tensor": _rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
    # Old modules pickle their THNN backend handle; the stand-in yields None.
    "torch.nn.backends.thnn._get_thnn_function_backend": lambda: None,
    "torch.nn.parameter.Parameter": _stand_in("torch.nn.parameter.Parameter", _TensorWrapper),
    "torch.autograd.variable.Variable": _stand_in(
        "torch.autograd.variable.Variable", _TensorWrapper
    ),
}


class _Unpickler(pickle.Unpickler):
    """An unpickler whose every global is an allow-listed stand-in."""

    def __init__(self, fh: BinaryIO, roots: dict[str, _Root], model_classes: frozenset[str]):
        # latin1 decodes any Python 2 byte string (keys are ASCII; embedded source may not be).
        super().__init__(fh, encoding="latin1")
        self.roots = roots
        self.model_classes = model_classes

    def find_class(self, module: str, name: str) -> Any:
        qualname = f"{module}.{name}"
        if qualname in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[qualname]
        if module in ("torch", "torch.cuda") and name in _DTYPES:
            return _StorageType(_DTYPES[name])
        if module.startswith(_MODULE_PACKAGES) or qualname in self.model_classes:
            return _stand_in(qualname)
        raise WeightsError(
            f"the checkpoint pickles {qualname!r}, which srbench does not allow",
            hint="srbench never runs a checkpoint's code; if this is the checkpoint's own model "
            f"class, allow it as an inert record with --allow-class {qualname}",
        )

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid:
            raise WeightsError(f"unexpected persistent id {pid!r} in the checkpoint")
        kind = pid[0].decode() if isinstance(pid[0], bytes) else pid[0]
        if kind == "module":  # legacy: (class, source file, source); the source is ignored
            return pid[1]
        if kind != "storage" or len(pid) not in (5, 6) or not isinstance(pid[1], _StorageType):
            raise WeightsError(f"unexpected persistent id {pid[:2]!r} in the checkpoint")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        root = self.roots.setdefault(key, _Root(key, storage_type.dtype, numel))
        view = pid[5] if len(pid) == 6 else None
        return _StorageView(root, int(view[1]) if view else 0)


def read_pickled_checkpoint(path: Path, *, allow_classes: Iterable[str] = ()) -> dict[str, Tensor]:
    """The state dict inside a pickled torch checkpoint (legacy or zip), read without its code.

    Raises:
        WeightsError: the file is truncated or corrupt, pickles a global outside the
            allow-list (plus `allow_classes`), or holds no model or state dict.
    """
    path = Path(path)
    classes = KNOWN_MODEL_CLASSES | frozenset(allow_classes)
    roots: dict[str, _Root] = {}
    try:
        if zipfile.is_zipfile(path):
            obj = _read_zip(path, roots, classes)
        else:
            with path.open("rb") as fh:
                obj = _read_legacy(fh, roots, classes)
        return _state_dict(obj)
    except WeightsError as exc:
        raise WeightsError(f"cannot read {path}: {exc.args[0]}", hint=exc.hint) from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise WeightsError(f"cannot read {path}: {exc}") from exc
    except (
        pickle.UnpicklingError,
        EOFError,
        RuntimeError,
        LookupError,
        ValueError,
        TypeError,
        AttributeError,
    ) as exc:
        raise WeightsError(
            f"cannot read {path}: {type(exc).__name__}: {exc}",
            hint="the file is truncated, corrupt or not a torch checkpoint: download it again",
        ) from exc


def _load(fh: BinaryIO, roots: dict[str, _Root], classes: frozenset[str]) -> Any:
    return _Unpickler(fh, roots, classes).load()


def _read_exact(fh: BinaryIO, size: int) -> bytes:
    data = fh.read(size)
    if len(data) != size:
        raise WeightsError(f"the file ends {size - len(data)} bytes early: it is truncated")
    return data


def _fill(root: _Root, raw: bytes) -> None:
    itemsize = torch.empty((), dtype=root.dtype).element_size()
    if len(raw) != root.numel * itemsize:
        raise WeightsError(
            f"storage {root.key} has {len(raw)} bytes, expected {root.numel * itemsize}"
        )
    root.data = (
        torch.frombuffer(bytearray(raw), dtype=root.dtype)
        if raw
        else torch.empty(0, dtype=root.dtype)
    )


def _read_legacy(fh: BinaryIO, roots: dict[str, _Root], classes: frozenset[str]) -> Any:
    if _load(fh, roots, classes) != LEGACY_MAGIC:
        raise WeightsError("not a torch checkpoint (no legacy magic number, not a zip file)")
    version = _load(fh, roots, classes)
    if version != LEGACY_PROTOCOL:
        raise WeightsError(f"unsupported legacy protocol version {version!r}")
    sys_info = _load(fh, roots, classes)
    if isinstance(sys_info, Mapping) and not sys_info.get("little_endian", True):
        raise WeightsError("the checkpoint was saved on a big-endian machine")
    obj = _load(fh, roots, classes)
    for key in _load(fh, roots, classes):
        root = roots[str(key)]
        (count,) = struct.unpack("<q", _read_exact(fh, 8))
        if count != root.numel:
            raise WeightsError(f"storage {key} holds {count} elements, expected {root.numel}")
        itemsize = torch.empty((), dtype=root.dtype).element_size()
        _fill(root, _read_exact(fh, count * itemsize))
    return obj


def _read_zip(path: Path, roots: dict[str, _Root], classes: frozenset[str]) -> Any:
    with zipfile.ZipFile(path) as zf:
        pickles = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise WeightsError("a zip file without exactly one data.pkl is no torch checkpoint")
        prefix = pickles[0][: -len("data.pkl")]
        if f"{prefix}byteorder" in zf.namelist() and zf.read(f"{prefix}byteorder") != b"little":
            raise WeightsError("the checkpoint was saved on a big-endian machine")
        obj = _load(io.BytesIO(zf.read(pickles[0])), roots, classes)
        for root in roots.values():
            _fill(root, zf.read(f"{prefix}data/{root.key}"))
    return obj


def _tensor(value: Any, name: str) -> Tensor:
    while isinstance(value, _TensorWrapper):
        value = value.args[0] if value.args else None
    if isinstance(value, _TensorRef):
        return value.materialize(name)
    raise WeightsError(f"entry {name!r} of the checkpoint is {type(value).__name__}, not a tensor")


def _is_tensor(value: Any) -> bool:
    return isinstance(value, (_TensorRef, _TensorWrapper))


def _is_module(value: Any) -> bool:
    return isinstance(value, _Inert) and isinstance(value.state, dict) and "_modules" in value.state


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(map(_is_tensor, value.values()))


def _flatten(module: _Inert, prefix: str, out: dict[str, Tensor]) -> None:
    state = module.state
    skip = state.get("_non_persistent_buffers_set") or set()
    for name, value in (state.get("_parameters") or {}).items():
        if value is not None:
            out[prefix + name] = _tensor(value, prefix + name)
    for name, value in (state.get("_buffers") or {}).items():
        if value is not None and name not in skip:
            out[prefix + name] = _tensor(value, prefix + name)
    for name, child in (state.get("_modules") or {}).items():
        if _is_module(child):
            _flatten(child, f"{prefix}{name}.", out)


def _state_dict(obj: Any) -> dict[str, Tensor]:
    """The one model or state dict in `obj`: itself, or the single such value of a dict."""
    if _is_module(obj):
        out: dict[str, Tensor] = {}
        _flatten(obj, "", out)
        return out
    if _is_state_dict(obj):
        return {str(k): _tensor(v, str(k)) for k, v in obj.items()}
    if isinstance(obj, Mapping):
        found = [v for v in obj.values() if _is_module(v) or _is_state_dict(v)]
        if len(found) == 1:
            return _state_dict(found[0])
        what = f"a dict with keys {sorted(map(str, obj))[:8]}"
    else:
        what = type(obj).__name__
    raise WeightsError(
        f"it holds {what}: srbench expects one model object or state dict in it",
        hint="save the model's state_dict() alone, or a dict with exactly one model in it",
    )
