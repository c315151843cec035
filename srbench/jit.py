"""How srbench compiles its loops: numba, without the GIL, cached on disk where it can be.

Needs no torch, so that image decoding (`srbench.data.png`) can use it while torch is still
being imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

__all__ = ["compiled"]

F = TypeVar("F", bound=Callable[..., Any])


def compiled(**options: Any) -> Callable[[F], F]:
    """`numba.njit(nogil=True, **options)`, cached on disk where numba can write a cache."""

    def wrap(fn: F) -> F:
        try:
            return numba.njit(cache=True, nogil=True, **options)(fn)
        except RuntimeError:  # no writable cache directory at all: compile in each process
            return numba.njit(nogil=True, **options)(fn)

    return wrap
