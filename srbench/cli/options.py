"""Shared click option types and the verbosity context used by every command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from srbench.errors import ConfigError

__all__ = ["IntList", "NameList", "State", "parse_scales"]


@dataclass
class State:
    """Global CLI options: verbosity (-q = 0, default 1, -v = 2)."""

    verbosity: int = 1


class NameList(click.ParamType):
    """Comma-separated names, e.g. `bicubic,edsr-baseline`."""

    name = "names"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(value)
        names = tuple(v.strip() for v in str(value).split(",") if v.strip())
        if not names:
            self.fail("expected at least one name, e.g. a,b", param, ctx)
        return names


def parse_scales(text: str) -> tuple[int, ...]:
    """Parse `2,3,4` into integers >= 2, refusing 1, 0, negatives and non-integers."""
    scales = []
    for token in (t.strip() for t in text.split(",")):
        try:
            scale = int(token)
        except ValueError:
            raise ConfigError(
                f"--scales: {token!r} is not an integer", hint="use integers >= 2, e.g. 2,3,4"
            ) from None
        if scale < 2:
            raise ConfigError(f"--scales: {scale} is not supported", hint="use integers >= 2")
        scales.append(scale)
    return tuple(dict.fromkeys(scales))


class IntList(click.ParamType):
    """Comma-separated upscaling factors, e.g. `2,3,4`."""

    name = "scales"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(value)
        try:
            return parse_scales(str(value))
        except ConfigError as exc:
            self.fail(f"{exc} ({exc.hint})", param, ctx)
