"""keep_freed_memory: glibc's thresholds are raised once per process; other libcs are left alone."""

from __future__ import annotations

import ctypes

import pytest
import torch

from srbench.engine.memory import keep_freed_memory


def _is_glibc() -> bool:
    try:
        ctypes.CDLL("libc.so.6").gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return False
    return True


@pytest.mark.skipif(not _is_glibc(), reason="glibc only")
def test_glibc_thresholds_are_raised_and_allocation_still_works() -> None:
    assert keep_freed_memory() and keep_freed_memory()  # accepted by mallopt, idempotent
    for _ in range(3):
        block = torch.ones(3 << 20, dtype=torch.float64)  # 24 MB, below the 32 MB threshold
        assert float(block.sum()) == 3 << 20


@pytest.mark.skipif(_is_glibc(), reason="the no-op path is for other C libraries")
def test_other_c_libraries_are_left_alone() -> None:
    assert keep_freed_memory() is False
