"""Keep freed memory in the process between images instead of handing it back to the kernel.

Every image allocates the same large float64 temporaries (a 1024x768 Urban100 image at x2:
about 20 MB per SR or SSIM map stack). glibc's malloc returns such blocks to the kernel on
free (mmap above its threshold, heap trimming above 128 KB, per-thread arenas shrinking),
so the next image page-faults them in again. Measured on the 2-core VM, a whole process
scoring bicubic on (synthetic) B100 at x2/x3/x4: 1.02 M minor page faults and 3.1 s of
kernel time without these settings; 166 K and 0.9 s with the two thresholds raised; 147 K
and 0.8 s with every thread also on one arena (Python and torch start-up alone: 100 K and
0.4 s). Peak memory is unchanged; memory goes back when the process exits. Blocks over
32 MB (glibc's limit) are still mapped afresh.
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
