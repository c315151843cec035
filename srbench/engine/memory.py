"""Keep freed memory in the process between images instead of handing it back to the kernel.

Every image allocates the same large float64 temporaries (a 1024x768 Urban100 image at x2:
about 20 MB per SR or SSIM map stack). glibc's malloc returns such blocks to the kernel on
free (mmap above its threshold, heap trimming above 128 KB), so the next image page-faults
them in again: on the 2-core VM the bicubic table was measured on, 0.7 M page faults for
B100, 2.3 s of kernel time against 6 s of computing. Raising the two thresholds makes the
blocks stay in the heap for reuse: page faults drop to thousands and the kernel time to
nearly nothing. Peak memory is unchanged; memory is returned when the process exits.
`srbench run` calls `keep_freed_memory()`; a program that calls the runner itself may too.
"""

from __future__ import annotations

import ctypes

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # glibc's maximum: larger blocks are always mmapped
_TRIM_THRESHOLD = 1 << 30


def keep_freed_memory() -> bool:
    """Raise glibc malloc's mmap and trim thresholds for this process; False if not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018  (only glibc has it)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )
