"""Typed `key=value` options for plugins (model and loss-term constructors), never swallowed.

Strings from the command line are converted by the constructor's annotations (int, float,
bool, Literal choices, `X | None` with `none`); an unknown key is an error (STYLE §5.4).
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from srbench.errors import ConfigError

__all__ = ["bind", "coerce", "keyword_params", "parse_pairs"]


def keyword_params(cls: type) -> dict[str, Any]:
    """{name: annotation} of the keyword parameters of `cls.__init__` (self, *args excluded)."""
    sig = inspect.signature(cls.__init__)
    names = [
        p.name
        for p in sig.parameters.values()
        if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    hints = typing.get_type_hints(cls.__init__) if names else {}
    return {name: hints.get(name, Any) for name in names}


def coerce(hint: Any, raw: Any) -> Any:
    """Convert `raw` to the annotation `hint`; non-strings pass through. Raises ValueError."""
    if not isinstance(raw, str):
        return raw
    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = typing.get_args(hint)
        if raw not in choices:
            raise ValueError(f"choose from {', '.join(map(str, choices))}")
        return raw
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if type(None) in args and raw.lower() == "none":
            return None
        return coerce(next(a for a in args if a is not type(None)), raw)
    if hint is bool:
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValueError("use true or false")
        return raw.lower() in ("true", "1")
    if hint in (int, float):
        value = hint(raw)
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return value
    return raw


def parse_pairs(items: tuple[str, ...] | list[str], what: str) -> dict[str, str]:
    """`("preset=tiny", "n_feats=8")` → {"preset": "tiny", "n_feats": "8"}."""
    out = {}
    for item in items:
        key, eq, value = (s.strip() for s in item.partition("="))
        if not eq or not key:
            raise ConfigError(f"{what}: {item!r} is not key=value", hint=f"e.g. {what} preset=tiny")
        out[key] = value
    return out


def bind(cls: type, options: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Typed keyword arguments for `cls` from `options`; unknown keys and bad values are errors."""
    params = keyword_params(cls)
    kwargs = {}
    for key, raw in options.items():
        if key not in params or key == "scale":
            takes = ", ".join(sorted(k for k in params if k != "scale")) or "no options"
            raise ConfigError(f"{what} has no option {key!r}", hint=f"it takes {takes}")
        try:
            kwargs[key] = coerce(params[key], raw)
        except ValueError as exc:
            raise ConfigError(f"{what}: bad value {raw!r} for {key}: {exc}") from None
    return kwargs
