"""The C allocator of a web process (logplatform.wsgi).

An export streams Arrow batches of a few megabytes each through the process. glibc
serves blocks above its mmap threshold with mmap and gives them back when freed, but
its threshold is dynamic: the first freed large block raises it to that block's size,
and from then on those blocks come from the heap, whose freed top is kept. A fixed
threshold of 1 MiB keeps every batch-sized block on mmap, so an export leaves about
10 MB less behind (docs/performance.md, "Export memory"). Smaller thresholds gave
less still but slowed the export by a fifth (more mmap calls).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
WEB_MMAP_THRESHOLD = 1 << 20


def fix_mmap_threshold(size: int = WEB_MMAP_THRESHOLD) -> bool:
    """Set glibc's mmap threshold to `size` bytes for this process (turning off its
    dynamic threshold). False, and nothing changed, where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        logger.info("no glibc mallopt here; the C allocator keeps its defaults")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, size) == 1
