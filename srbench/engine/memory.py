"""Keep freed memory in the process between images instead of handing it back to the kernel.

Every image allocates the same large float64 temporaries (a 1024x768 Urban100 image at x2:
about 20 MB per SR or SSIM map stack). glibc's malloc returns such blocks to the kernel on
free (mmap above its threshold, heap trimming above 128 KB, per-thread arenas shrinking),
so the next image page-faults them in again: on the 2-core VM the bicubic table was
measured on, 0.7 M page faults for B100, 2.3 s of kernel time against 6 s of computing.
Raising the two thresholds and giving every thread the main arena keeps the blocks for
reuse (B100: 4 K page faults, 0.05 s in the kernel). Peak memory is unchanged; memory goes
back when the process exits. Blocks over 32 MB (glibc's limit) are still mapped afresh.
`srbench run` calls `keep_freed_memory()`; a program that calls the runner itself may too.
"""

from __future__ import annotations

import ctypes

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_MMAP_THRESHOLD = 32 << 20  # glibc's maximum: larger blocks are always mmapped
_TRIM_THRESHOLD = 1 << 30


def keep_freed_memory() -> bool:
    """Raise glibc malloc's mmap and trim thresholds and use one arena; False if not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018  (only glibc has it)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    settings = (
        (_M_MMAP_THRESHOLD, _MMAP_THRESHOLD),
        (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
        (_M_ARENA_MAX, 1),
    )
    return all([bool(mallopt(option, value)) for option, value in settings])
