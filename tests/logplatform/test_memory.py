"""A web process keeps batch-sized blocks on mmap (logplatform.memory): glibc's
dynamic threshold would move them to the heap after the first one is freed."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from tests.conftest import BASE_DIR, child_env

# After freeing an 8 MiB block (mmapped at first: above the initial 128 KiB), is a
# 2 MiB block mmapped (1) or taken from the heap (0)? Prints that count.
PROBE = """
import ctypes
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
libc.free(libc.malloc(8 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(2 << 20)
mapped = libc.mallinfo2().hblks - before
libc.free(block)
print(mapped)
"""

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")


def _mapped(setup: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", setup + PROBE],
        cwd=BASE_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_a_plain_process_moves_large_blocks_to_the_heap_after_the_first_free():
    assert _mapped("") == 0


def test_the_web_entry_point_keeps_them_on_mmap():
    assert _mapped("import logplatform.wsgi\n") == 1
