"""Big blocks back to the system once freed, so a burst of oversized frames leaves no lasting growth.

glibc serves a block of at least its mmap threshold with its own mapping and unmaps it on free; smaller
blocks come from heaps that keep freed memory for reuse. The threshold starts at 128 KiB but rises to
the size of each mapped block freed (up to 32 MiB), so after one huge frame the next 12 MB frames land
in the heaps of the DDS and worker threads and stay there. Fixing the threshold keeps every block of
`LARGE_BLOCK_BYTES` or more mapped: camera-sized frames (up to 1280x1024 bgr8) still reuse heap memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util

LARGE_BLOCK_BYTES = 4 << 20
_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h


def return_large_blocks_to_system(*, threshold_bytes: int = LARGE_BLOCK_BYTES) -> tuple[bool, str]:
    """Fix glibc's mmap threshold for this process; (ok, message), not ok where libc is not glibc."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6').mallopt
    except (OSError, AttributeError) as exc:
        return False, f'freed large buffers may stay with the process: no glibc mallopt ({exc})'
    if mallopt(_M_MMAP_THRESHOLD, threshold_bytes) != 1:
        return False, f'freed large buffers may stay with the process: mallopt refused {threshold_bytes} bytes'
    return True, f'blocks of {threshold_bytes >> 20} MiB and more go back to the system when freed'
