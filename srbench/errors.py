"""Typed user-facing errors; each carries a `hint` that says how to fix the problem."""

from __future__ import annotations

import difflib
from collections.abc import Collection

__all__ = [
    "ConfigError",
    "DataError",
    "DuplicateNameError",
    "ModelError",
    "ProtocolError",
    "SrbenchError",
    "StoreError",
    "UnknownNameError",
    "WeightsError",
    "unknown_name",
]


class SrbenchError(Exception):
    """Base class of every error srbench raises on purpose; `hint` says what to do."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\n  hint: {self.hint}" if self.hint else base


class ConfigError(SrbenchError):
    """An option or configuration value is invalid (a usage error, exit code 2)."""

    exit_code = 2


class UnknownNameError(ConfigError):
    """A plugin name (model, dataset, metric, loss, protocol) is not registered."""


class DuplicateNameError(SrbenchError):
    """Two different plugins claim the same name."""


class ProtocolError(SrbenchError):
    """An image cannot be processed by the evaluation protocol (e.g. smaller than the scale)."""


class DataError(SrbenchError):
    """A dataset or image file is missing, unreadable or not what it should be."""


class ModelError(SrbenchError):
    """A model produced an unusable output (wrong size, NaN/Inf) or could not be built."""


class WeightsError(SrbenchError):
    """A checkpoint is missing, corrupt, or does not fit the model."""


class StoreError(SrbenchError):
    """The results store cannot be opened or written safely."""


def unknown_name(kind: str, name: str, known: Collection[str]) -> UnknownNameError:
    """Build the error for an unknown `kind` name, with up to three close matches."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
    tip = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return UnknownNameError(
        f"no {kind} named {name!r}.{tip}", hint=f"see `srbench list {kind}s` for all of them"
    )
