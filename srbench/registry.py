"""One plugin registry mechanism for models, datasets, metrics, losses, protocols, executors.

Sources, in order: built-ins (lazy "module:attr" table), Python entry points
(`srbench.<kind>s` groups), `--plugin MODULE_OR_FILE`, and runtime decorator calls.
Every source is lazy: a name maps to a placeholder until `get()` imports it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from srbench.errors import ConfigError, DuplicateNameError, unknown_name
from srbench.specs import MetricSpec, Space, check_name

T = TypeVar("T")

__all__ = [
    "Entry",
    "Registry",
    "datasets",
    "executors",
    "load_plugin",
    "loaded_plugins",
    "losses",
    "metrics",
    "models",
    "protocols",
    "register_dataset",
    "register_loss",
    "register_metric",
    "register_model",
]


def qualname(obj: object) -> str:
    """`module:qualname` of a class or function, the identity used to accept re-registration."""
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


def _code_origin(obj: object) -> str:
    try:
        return f"{inspect.getsourcefile(obj)}:{inspect.getsourcelines(obj)[1]}"  # type: ignore[arg-type]
    except (TypeError, OSError):
        return qualname(obj)


@dataclass
class Entry(Generic[T]):
    """One registered name: the object once loaded, or where to load it from."""

    name: str
    origin: str
    obj: T | None = None
    target: str | None = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        """First line of the object's docstring, or the load error for a broken plugin."""
        if self.error:
            return f"BROKEN: {self.error}"
        own = getattr(self.obj, "description", None)
        if isinstance(own, str):
            return own
        doc = inspect.getdoc(self.obj) if self.obj is not None else None
        return doc.splitlines()[0] if doc else ""


class Registry(Generic[T]):
    """Name → plugin table for one kind, with lazy sources and clear errors."""

    def __init__(
        self,
        kind: str,
        group: str | None,
        builtins: dict[str, str],
        validate: Callable[[str, Any], None] | None = None,
        default_meta: Callable[[str, Any], dict[str, Any]] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self._validate = validate
        self._default_meta = default_meta
        self._entries: dict[str, Entry[T]] = {}
        self._factories: dict[str, str] = {}
        self._entry_points_loaded = group is None
        self._lock = threading.RLock()
        for name, target in builtins.items():
            self._entries[name] = Entry(name=name, origin="srbench (built-in)", target=target)

    # -- registration -------------------------------------------------------------------
    def register(
        self, name: str, obj: T | None = None, *, replace: bool = False, **meta: Any
    ) -> Any:
        """Register `obj` under `name`; without `obj`, return a decorator that does."""
        check_name(self.kind, name)

        def add(target: T) -> T:
            self._add(name, target, meta, replace=replace)
            return target

        return add if obj is None else add(obj)

    def _add(self, name: str, obj: T, meta: dict[str, Any], *, replace: bool) -> None:
        if self._validate is not None:
            self._validate(name, obj)
        with self._lock:
            existing = self._entries.get(name)
            if existing is not None and not replace:
                same = existing.obj is obj or (
                    existing.obj is not None and qualname(existing.obj) == qualname(obj)
                )
                placeholder = existing.obj is None and existing.target == qualname(obj)
                if not (same or placeholder):
                    first = existing.origin if existing.obj is None else _code_origin(existing.obj)
                    raise DuplicateNameError(
                        f"{self.kind} {name!r} is registered by {first} and by {_code_origin(obj)}",
                        hint="rename one of them, or pass replace=True to override deliberately",
                    )
            origin = (
                existing.origin
                if existing is not None and existing.target is not None and not replace
                else _code_origin(obj)
            )
            target = existing.target if existing is not None and not replace else None
            self._entries[name] = Entry(name=name, origin=origin, obj=obj, target=target, meta=meta)

    def add_lazy(self, name: str, target: str, origin: str) -> None:
        """Map `name` to a "module:attr" placeholder that is imported on first use."""
        with self._lock:
            existing = self._entries.get(name)
            # The entry point's own object, already registered by its decorator, is no clash.
            same = existing is not None and (
                existing.target == target
                or (existing.obj is not None and qualname(existing.obj) == target)
            )
            if existing is not None and not same:
                raise DuplicateNameError(
                    f"{self.kind} {name!r} is registered by {existing.origin} and by {origin}",
                    hint="uninstall one of the two plugins, or rename one",
                )
            if existing is None:
                self._entries[name] = Entry(name=name, origin=origin, target=target)
            elif existing.target is None:  # decorator ran first: record where it is installed
                existing.origin, existing.target = origin, target

    def add_factory(self, prefix: str, target: str) -> None:
        """Resolve `prefix:NAME` on first use by calling the lazy "module:attr" `target`
        with NAME; it returns (object, metadata), registered under `prefix:NAME`."""
        self._factories[prefix] = target

    def _from_factory(self, key: str) -> Entry[T] | None:
        prefix, _, rest = key.partition(":")
        target = self._factories.get(prefix)
        if not rest or target is None:
            return None
        module_name, _, attr = target.partition(":")
        obj, meta = getattr(importlib.import_module(module_name), attr)(rest)
        if self._validate is not None:
            self._validate(key, obj)
        entry = Entry(name=key, origin=f"{prefix} (by name)", obj=obj, meta=meta)
        self._entries[key] = entry
        return entry

    # -- lookup -----------------------------------------------------------------------------
    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in importlib.metadata.entry_points(group=self.group):  # type: ignore[arg-type]
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
            self.add_lazy(ep.name, ep.value, f"{dist} (entry point)")

    def names(self) -> list[str]:
        """All registered names, sorted; imports nothing."""
        self._load_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self._load_entry_points()
        return name.lower() in self._entries

    def _resolve(self, name: str) -> Entry[T]:
        self._load_entry_points()
        key = name.lower()
        entry = self._entries.get(key) or self._from_factory(key)
        if entry is None:
            raise unknown_name(self.kind, name, self._entries)
        if entry.obj is None and entry.error is None and entry.target is not None:
            self._import(entry)
        entry = self._entries[key]
        if entry.error is not None:
            raise ConfigError(
                f"{self.kind} {key!r} from {entry.origin} failed to load: {entry.error}",
                hint="fix or reinstall that plugin; other plugins are unaffected",
            )
        return entry

    def _import(self, entry: Entry[T]) -> None:
        module_name, _, attr = entry.target.partition(":")  # type: ignore[union-attr]
        try:
            module = importlib.import_module(module_name)
            obj = module
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as exc:  # a broken plugin must not break unrelated commands
            entry.error = f"{type(exc).__name__}: {exc}"
            return
        current = self._entries[entry.name]
        if current.obj is not None:
            if current.obj is not obj:
                entry.error = f"entry point {entry.target} registered a different object"
            return
        other = next((e.name for e in self._entries.values() if e.obj is obj), None)
        if other is not None:
            entry.error = (
                f"entry point name {entry.name!r} differs from the decorator's name {other!r}"
            )
            return
        meta = self._default_meta(entry.name, obj) if self._default_meta else {}
        try:
            if self._validate is not None:
                self._validate(entry.name, obj)
        except ConfigError as exc:
            entry.error = str(exc)
            return
        current.obj, current.meta = obj, meta  # type: ignore[assignment]

    def get(self, name: str) -> T:
        """The object registered as `name` (case-insensitive), importing it if needed."""
        return self._resolve(name).obj  # type: ignore[return-value]

    def meta(self, name: str) -> dict[str, Any]:
        """Registration metadata of `name` (e.g. a metric's `spec`)."""
        return self._resolve(name).meta

    def entries(self) -> Iterator[Entry[T]]:
        """Every entry, each loaded (a broken one carries its error instead)."""
        for name in self.names():
            with contextlib.suppress(ConfigError):
                self._resolve(name)
            yield self._entries[name]


def _validate_model(name: str, obj: Any) -> None:
    from torch import nn

    if not (inspect.isclass(obj) and issubclass(obj, nn.Module)):
        raise ConfigError(f"model {name!r}: {qualname(obj)} is not an nn.Module subclass")
    params = inspect.signature(obj.__init__).parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if "scale" not in params and not takes_kwargs:
        raise ConfigError(
            f"model {name!r}: {qualname(obj)}.__init__ must accept the keyword argument `scale`"
        )


def _validate_metric(name: str, obj: Any) -> None:
    if not callable(obj):
        raise ConfigError(f"metric {name!r}: {qualname(obj)} is not callable")
    positional = [
        p
        for p in inspect.signature(obj).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) < 2:
        raise ConfigError(f"metric {name!r}: {qualname(obj)} must accept (sr, hr)")


models: Registry[Any] = Registry(
    "model",
    "srbench.models",
    {
        "bicubic": "srbench.models.bicubic:Bicubic",
        "drn-gs": "srbench.methods.drn_gs:DRNGS",
        "spnet": "srbench.methods.spnet:SPNet",
        "spnet-official": "srbench.methods.spnet:SPNetOfficial",
    },
    _validate_model,
)
metrics: Registry[Any] = Registry(
    "metric",
    "srbench.metrics",
    {
        "psnr": "srbench.metrics.psnr:psnr",
        "ssim": "srbench.metrics.ssim:ssim",
        "lpips": "srbench.metrics.lpips:lpips",
    },
    _validate_metric,
    default_meta=lambda name, obj: {"spec": MetricSpec(name=name)},
)
metrics.add_factory("pyiqa", "srbench.metrics.external:pyiqa_metric")
metrics.add_factory("piq", "srbench.metrics.external:piq_metric")
datasets: Registry[Any] = Registry(
    "dataset",
    "srbench.datasets",
    {
        name: f"srbench.data.sets:{attr}"
        for name, attr in {
            "set5": "SET5",
            "set14": "SET14",
            "b100": "B100",
            "urban100": "URBAN100",
            "samples": "SAMPLES",
        }.items()
    },
)
losses: Registry[Any] = Registry(
    "loss",
    "srbench.losses",
    {
        name: f"srbench.train.losses:{attr}"
        for name, attr in {
            "l1": "L1",
            "mse": "MSE",
            "gs": "GS",
            "dual": "Dual",
            "image": "Image",
            "boundary": "Boundary",
            "residual": "Residual",
        }.items()
    },
)
protocols: Registry[Any] = Registry(
    "protocol",
    None,
    {
        "paper": "srbench.protocol:PAPER",
        "srcnn-matlab": "srbench.protocol:SRCNN_MATLAB",
        "vdsr-pytorch": "srbench.protocol:VDSR_PYTORCH",
    },
)


executors: Registry[Any] = Registry(
    "executor",
    "srbench.executors",
    {
        "local": "srbench.executors.local:LocalExecutor",
        "ray": "srbench.executors.ray_cluster:RayExecutor",
    },
)

_loaded_plugins: list[str] = []


def loaded_plugins() -> tuple[str, ...]:
    """The `--plugin` specs imported in this process, so executors can load them on workers."""
    return tuple(_loaded_plugins)


def register_model(name: str, *, replace: bool = False) -> Callable[[T], T]:
    """Class decorator: register an `nn.Module` whose `__init__` takes keyword `scale`."""
    return models.register(name, replace=replace)  # type: ignore[no-any-return]


def register_metric(
    name: str,
    *,
    higher_is_better: bool = True,
    space: Space = "y255",
    version: int = 1,
    replace: bool = False,
) -> Callable[[T], T]:
    """Function decorator: register a per-image metric `(sr, hr) -> (N,)` on a prepared view."""
    spec = MetricSpec(name=name, higher_is_better=higher_is_better, space=space, version=version)
    return metrics.register(name, replace=replace, spec=spec)  # type: ignore[no-any-return]


def register_dataset(name: str, *, replace: bool = False) -> Callable[[T], T]:
    """Register a dataset object (see `srbench.data.sets.DatasetSpec`)."""
    return datasets.register(name, replace=replace)  # type: ignore[no-any-return]


def register_loss(name: str, *, replace: bool = False) -> Callable[[T], T]:
    """Register a training loss term."""
    return losses.register(name, replace=replace)  # type: ignore[no-any-return]


def load_plugin(spec: str) -> None:
    """Import a plugin module by dotted name or `.py` path so its decorators register."""
    path = Path(spec)
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise ConfigError(
                f"--plugin: no file {spec!r}", hint="give a .py file or a module name"
            )
        module_name = f"srbench_plugin_{path.stem}_{abs(hash(str(path.resolve())))}"
        if module_name in sys.modules:
            return
        mod_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(mod_spec)  # type: ignore[arg-type]
        sys.modules[module_name] = module
        try:
            mod_spec.loader.exec_module(module)  # type: ignore[union-attr]
        except Exception:
            del sys.modules[module_name]
            raise
        _loaded_plugins.append(str(path.resolve()))
        return
    try:
        importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"--plugin: cannot import {spec!r} ({exc})",
            hint="give an importable module name or the path of a .py file",
        ) from exc
    if spec not in _loaded_plugins:
        _loaded_plugins.append(spec)
