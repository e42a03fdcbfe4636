"""recgym.allocator: glibc's mmap threshold pinned, checked with glibc's own count of mmapped blocks (mallinfo2)."""

import ctypes
import ctypes.util

import pytest

from recgym.agents import GRPOConfig
from recgym.allocator import pin_mmap_threshold

GLIBC = hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "gnu_get_libc_version")


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mmapped_blocks(libc) -> int:
    return libc.mallinfo2().hblks  # blocks glibc currently serves with mmap


@pytest.mark.skipif(not GLIBC or not hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallinfo2"),
                    reason="needs glibc >= 2.33 (mallinfo2)")
def test_pinned_threshold_serves_a_freed_then_reallocated_block_with_mmap():
    """glibc raises its threshold when an mmapped block is freed; pinned, a 1 MiB block stays an mmap each time."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = MallInfo2
    assert pin_mmap_threshold(128)
    for _ in range(3):  # unpinned, the 2nd and 3rd 1 MiB blocks would come from the heap
        before = _mmapped_blocks(libc)
        block = libc.malloc(2**20)
        assert _mmapped_blocks(libc) == before + 1
        libc.free(block)
        assert _mmapped_blocks(libc) == before


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="KiB"):
        pin_mmap_threshold(0)
    with pytest.raises(ValueError, match="KiB"):
        pin_mmap_threshold(64 * 1024)
    with pytest.raises(ValueError, match="mmap_threshold_kib"):
        GRPOConfig(mmap_threshold_kib=0)
    assert GRPOConfig(mmap_threshold_kib=None).mmap_threshold_kib is None
